package python_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Equivalents of n8n's own integration tests for its Python runner
// (packages/@n8n/task-runner-python/tests/integration in n8n-io/n8n), one Describe per test
// file, one spec per test there, written against runwire's rig (the real executor over the
// loopback broker). test_health_check and test_shutdown need `runwire run` end to end:
// they are in specs/cli/n8n_integration_test.go.

var _ = Describe("n8n's test_execution.py", Label("integration"), func() {
	It("test_all_items_with_success", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		code := "result = []\nfor item in _items:\n    person = item['json']\n" +
			"    result.append({'name': person['name'], 'age': person['age'], 'adult': person['age'] >= 18})\nreturn result"
		o := p.run("T1", allItems(code, item(`{"name": "Alice", "age": 30}`), item(`{"name": "Bob", "age": 16}`), item(`{"name": "Charlie", "age": 35}`)))
		Expect(o.terminal).To(Equal(done("T1", `[{"name":"Alice","age":30,"adult":true},{"name":"Bob","age":16,"adult":false},{"name":"Charlie","age":35,"adult":true}]`)))
	}, SpecTimeout(specTimeout))

	It("test_all_items_with_error", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		m, _, _ := errorOf(p.runCode("T1", "raise ValueError('Intentional error')").terminal)
		Expect(m).To(ContainSubstring("Intentional error"))
	}, SpecTimeout(specTimeout))

	It("test_all_items_with_continue_on_fail", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.run("T1", continueOnFail(allItems("raise ValueError('Intentional error')")))
		Expect(o.terminal).To(Equal(doneWithError("T1", "Intentional error")))
	}, SpecTimeout(specTimeout))

	It("test_per_item_with_success", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.run("T1", perItem("return {'doubled': _item['json']['value'] * 2}", item(`{"value": 10}`), item(`{"value": 20}`), item(`{"value": 30}`)))
		Expect(o.terminal).To(Equal(done("T1", `[{"json":{"doubled":20},"pairedItem":{"item":0}},{"json":{"doubled":40},"pairedItem":{"item":1}},{"json":{"doubled":60},"pairedItem":{"item":2}}]`)))
	}, SpecTimeout(specTimeout))

	It("test_per_item_with_explicit_json_and_binary", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.run("T1", perItem("return {'json': {'custom': 'data'}, 'binary': {'file': 'data'}}", item(`{"value": 10}`)))
		Expect(o.terminal).To(Equal(done("T1", `[{"json":{"custom":"data"},"binary":{"file":"data"},"pairedItem":{"item":0}}]`)))
	}, SpecTimeout(specTimeout))

	It("test_per_item_with_binary_only", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.run("T1", perItem("return {'binary': {'file': 'data'}}", item(`{"value": 10}`)))
		Expect(o.terminal).To(Equal(done("T1", `[{"json":{},"binary":{"file":"data"},"pairedItem":{"item":0}}]`)))
	}, SpecTimeout(specTimeout))

	It("test_per_item_with_filtering", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		code := "value = _item['json']['value']\nif value > 10:\n    return {'value': value, 'passed': True}\nelse:\n    return None"
		o := p.run("T1", perItem(code, item(`{"value": 5}`), item(`{"value": 15}`), item(`{"value": 25}`), item(`{"value": 8}`)))
		Expect(o.terminal).To(Equal(done("T1", `[{"json":{"value":15,"passed":true},"pairedItem":{"item":1}},{"json":{"value":25,"passed":true},"pairedItem":{"item":2}}]`)))
	}, SpecTimeout(specTimeout))

	It("test_per_item_with_continue_on_fail", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.run("T1", continueOnFail(perItem("return {'result': 100 / _item['json']['value']}", item(`{"value": 10}`), item(`{"value": 0}`), item(`{"value": 20}`))))
		Expect(o.terminal).To(Equal(doneWithError("T1", "division by zero")))
	}, SpecTimeout(specTimeout))

	DescribeTable("test_cannot_access_builtins_via_globals / _via_locals",
		func(ctx SpecContext, function string) {
			p := newRig(ctx).connection()
			code := "b = " + function + "()['__builtins__']\nimp = b['__import__']\nos = imp('os')\nreturn [{\"json\": {\"pid\": os.getpid()}}]"
			m, _, _ := errorOf(p.runCode("T1", code).terminal)
			Expect(strings.ToLower(m)).To(ContainSubstring(function))
		},
		Entry("globals", "globals", SpecTimeout(specTimeout)),
		Entry("locals", "locals", SpecTimeout(specTimeout)),
	)

	It("test_cancel_during_execution", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("time")).connection()
		p.start("T1", allItems("import time\nprint('started')\nfor i in range(200):\n    time.sleep(0.05)\nreturn [{'completed': 'should not reach here'}]"))
		p.Await("the task runs", isPrint("T1"))
		p.cancel("T1")
		Expect(p.terminal("T1")).To(Equal(failed("T1", "Task was cancelled")))
	}, SpecTimeout(specTimeout))

	It("test_timeout_during_execution", func(ctx SpecContext) {
		p := newRig(ctx, withTaskTimeout(time.Second)).connection()
		m, _, _ := errorOf(p.runCode("T1", "while True:\n    pass").terminal)
		Expect(strings.ToLower(m)).To(ContainSubstring("timed out"))
	}, SpecTimeout(slowTimeout))

	It("test_stdlib_submodules_with_wildcard", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*")).connection()
		code := "from collections.abc import Iterable\nresult = isinstance([1, 2, 3], Iterable)\nreturn [{\"json\": {\"is_iterable\": result}}]"
		Expect(p.runCode("T1", code).terminal).To(Equal(done("T1", `[{"json":{"is_iterable":true}}]`)))
	}, SpecTimeout(specTimeout))

	It("test_cannot_bypass_import_restrictions_via_builtins_dict", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		_, d, _ := errorOf(p.runCode("T1", "os = __builtins__['__import__']('os')\nprint(os.getpid())\nreturn []").terminal)
		Expect(strings.ToLower(d)).To(ContainSubstring("__import__"))
	}, SpecTimeout(specTimeout))

	It("test_cannot_bypass_import_restrictions_via_builtins_spec_loader", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		code := "sys = __builtins__['__spec__'].loader.load_module('sys')\nos = sys.meta_path[-1].find_spec(\"os\").loader.load_module('os')\nreturn [{\"json\": {\"pid\": os.getpid()}}]"
		Expect(p.runCode("T1", code).terminal).To(HaveKeyWithValue("type", typeError))
	}, SpecTimeout(specTimeout))

	It("test_cannot_bypass_import_restrictions_via_sys_builtins_spec_leader", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*")).connection()
		code := "import sys\nos = sys.__builtins__['__spec__'].loader.load_module('os')\nreturn [{\"json\": {\"pid\": os.getpid()}}]"
		Expect(p.runCode("T1", code).terminal).To(HaveKeyWithValue("type", typeError))
	}, SpecTimeout(specTimeout))

	It("test_cannot_bypass_import_restrictions_via_format_string", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		code := "ex = None\ntry:\n    \"{.__builtins__[__import__].__call__.a}\".format(print)\nexcept Exception as e:\n    ex = e\nreturn [{\"json\": {\"error\": str(ex)}}]"
		_, d, _ := errorOf(p.runCode("T1", code).terminal)
		Expect(strings.ToLower(d)).To(ContainSubstring("__builtins__"))
	}, SpecTimeout(specTimeout))

	envCode := "import os\npath = os.environ.get('PATH', 'NOT_FOUND')\nhome = os.environ.get('HOME', 'NOT_FOUND')\n" +
		"return [{\"json\": {\"path\": path, \"home\": home, \"env_count\": len(dict(os.environ))}}]"
	envCodePerItem := "import os\nreturn {\"path\": os.environ.get('PATH', 'NOT_FOUND'), \"env_count\": len(dict(os.environ))}"

	It("test_env_blocked_by_default_all_items", func(ctx SpecContext) {
		p := newRig(ctx, withEnv("N8N_RUNNERS_STDLIB_ALLOW=os", "N8N_BLOCK_RUNNER_ENV_ACCESS=true")).connection()
		Expect(p.runCode("T1", envCode).terminal).To(Equal(done("T1", `[{"json":{"path":"NOT_FOUND","home":"NOT_FOUND","env_count":0}}]`)))
	}, SpecTimeout(specTimeout))

	It("test_env_blocked_by_default_per_item", func(ctx SpecContext) {
		p := newRig(ctx, withEnv("N8N_RUNNERS_STDLIB_ALLOW=os", "N8N_BLOCK_RUNNER_ENV_ACCESS=true")).connection()
		o := p.run("T1", perItem(envCodePerItem, item(`{"index": 0}`), item(`{"index": 1}`)))
		Expect(o.terminal).To(Equal(done("T1", `[{"json":{"path":"NOT_FOUND","env_count":0},"pairedItem":{"item":0}},{"json":{"path":"NOT_FOUND","env_count":0},"pairedItem":{"item":1}}]`)))
	}, SpecTimeout(specTimeout))

	// What user code sees with env access allowed is runwire's own environment, which
	// walls builds; these check only what n8n's tests do: PATH is there, and more.
	seesEnvironment := func(o outcome, items int) {
		GinkgoHelper()
		result, _ := resultOf(o.terminal).([]any)
		Expect(result).To(HaveLen(items))
		for _, r := range result {
			j, _ := r.(map[string]any)["json"].(map[string]any)
			Expect(j).To(HaveKeyWithValue("path", Not(Equal("NOT_FOUND"))))
			Expect(j).To(HaveKeyWithValue("env_count", BeNumerically(">", 0)))
		}
	}

	It("test_env_accessible_when_allowed_all_items", func(ctx SpecContext) {
		p := newRig(ctx, withEnv("N8N_RUNNERS_STDLIB_ALLOW=os", "N8N_BLOCK_RUNNER_ENV_ACCESS=false")).connection()
		seesEnvironment(p.runCode("T1", envCode), 1)
	}, SpecTimeout(specTimeout))

	It("test_env_accessible_when_allowed_per_item", func(ctx SpecContext) {
		p := newRig(ctx, withEnv("N8N_RUNNERS_STDLIB_ALLOW=os", "N8N_BLOCK_RUNNER_ENV_ACCESS=false")).connection()
		seesEnvironment(p.run("T1", perItem(envCodePerItem, item(`{"index": 0}`), item(`{"index": 1}`))), 2)
	}, SpecTimeout(specTimeout))
})

var _ = Describe("n8n's test_rpc.py", Label("integration"), func() {
	// args flattens a task's print calls into one list of formatted arguments.
	args := func(o outcome) []any {
		var all []any
		for _, call := range o.prints {
			all = append(all, call...)
		}
		return all
	}

	It("test_print_basic_types", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		code := "print(\"Hello, World!\")\nprint(42)\nprint(3.14)\nprint(True)\nprint(None)\nprint(\"Multiple\", \"args\", 123, False)\nreturn [{\"printed\": \"ok\"}]"
		o := p.runCode("T1", code)
		Expect(o.terminal).To(Equal(done("T1", `[{"printed":"ok"}]`)))
		Expect(args(o)).To(ContainElements("'Hello, World!'", "42", "3.14", "True", "None", "'Multiple'", "'args'", "123", "False"))
	}, SpecTimeout(specTimeout))

	It("test_print_complex_types", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		code := "print({\"name\": \"John\", \"age\": 30, \"active\": True})\nprint([1, 2, \"three\", {\"four\": 4}])\n" +
			"print({\"users\": [{\"id\": 1, \"name\": \"Alice\"}, {\"id\": 2, \"name\": \"Bob\"}]})\nreturn [{\"result\": \"success\"}]"
		o := p.runCode("T1", code)
		Expect(o.terminal).To(Equal(done("T1", `[{"result":"success"}]`)))
		var joined strings.Builder
		for _, a := range args(o) {
			joined.WriteString(strings.ReplaceAll(a.(string), " ", ""))
		}
		Expect(joined.String()).To(And(ContainSubstring(`{"name":"John","age":30,"active":true}`), ContainSubstring(`[1,2,"three",{"four":4}]`)))
	}, SpecTimeout(specTimeout))

	It("test_print_edge_cases", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		code := "print(\"Hello 世界 🌍\")\nprint({\"emoji\": \"🚀\", \"chinese\": \"你好\", \"arabic\": \"مرحبا\"})\nprint(\"Line\\nbreak\")\n" +
			"print(\"Tab\\tseparated\")\nprint('Quote \"test\" here')\nprint()\nprint(\"\")\nprint(\"   \")\nprint([])\nprint({})\nprint(())\n" +
			"print(\"x\" * 1_000)\nreturn [{\"test\": \"complete\"}]"
		o := p.runCode("T1", code)
		Expect(o.terminal).To(Equal(done("T1", `[{"test":"complete"}]`)))
		var joined strings.Builder
		for _, a := range args(o) {
			joined.WriteString(a.(string) + " ")
		}
		for _, want := range []string{"世界", "🌍", "🚀", "你好", "[]", "{}"} {
			Expect(joined.String()).To(ContainSubstring(want))
		}
	}, SpecTimeout(specTimeout))
})

var _ = Describe("n8n's test_task_cancel.py", Label("integration"), func() {
	It("test_cancel_before_execution: a task cancelled before its settings arrive reports nothing", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		p.accept("T1")
		p.cancel("T1")
		p.Send(map[string]any{"type": "broker:tasksettings", "taskId": "T1", "settings": allItems(`return [{"should": "not execute"}]`)})
		Consistently(ctx, func() int { return p.Count(isTerminal("T1")) }).WithTimeout(time.Second).Should(BeZero(), "no taskdone or taskerror for T1")
		p.healthy("T2")
	}, SpecTimeout(specTimeout))

	It("test_cancel_during_execution", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("time")).connection()
		p.start("T1", allItems("import time\nprint('started')\nfor i in range(200):\n    time.sleep(0.05)\nreturn [{'completed': 'should not reach here'}]"))
		p.Await("the task runs", isPrint("T1"))
		p.cancel("T1")
		Expect(p.terminal("T1")).To(Equal(failed("T1", "Task was cancelled")))
		Expect(p.Count(isType(typeDone))).To(BeZero(), "no taskdone")
	}, SpecTimeout(specTimeout))

	It("test_cancel_non_existent_task: the runner carries on", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		p.cancel("no-such-task")
		p.healthy("T1")
	}, SpecTimeout(specTimeout))

	It("test_cancel_already_completed_task: one taskdone, the runner carries on", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		Expect(p.runCode("T1", `return [{"result": "quick completion"}]`).terminal).To(Equal(done("T1", `[{"result":"quick completion"}]`)))
		p.cancel("T1")
		p.healthy("T2")
		Expect(p.Count(isTerminal("T1"))).To(Equal(1), "T1 ended once")
	}, SpecTimeout(specTimeout))
})

var _ = Describe("n8n's test_task_timeout.py", Label("integration"), func() {
	It("test_timeout_interrupts_long_running_task", func(ctx SpecContext) {
		p := newRig(ctx, withTaskTimeout(time.Second)).connection()
		code := "counter = 0\nwhile True:\n    counter += 1\n    if counter > 1000000000:\n        counter = 0\nreturn [{\"should\": \"not complete\"}]"
		Expect(p.runCode("T1", code).terminal).To(Equal(failed("T1", "Task execution timed out after 1 second", "")))
		p.healthy("T2")
	}, SpecTimeout(slowTimeout))
})
