package python_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("Errors", Label("integration"), func() {
	DescribeTable("reports an exception raised by the code as runner:taskerror with str(exception), description \"\"",
		func(ctx SpecContext, code, message string) {
			p := newRig(ctx).connection()
			Expect(p.runCode("T1", code).terminal).To(Equal(failed("T1", message, "")))
		},
		Entry("raise", `raise ValueError("bad value")`, "bad value", SpecTimeout(specTimeout)),
		Entry("a division by zero", `return 1 / 0`, "division by zero", SpecTimeout(specTimeout)),
		Entry("an undefined name", `return undefined_name`, "name 'undefined_name' is not defined", SpecTimeout(specTimeout)),
		Entry("a missing key", `return _items[0]["json"]["missing"]`, "'missing'", SpecTimeout(specTimeout)),
		// n8n would send "": runwire never sends a taskerror without words.
		Entry("an exception without text: its type", `raise RuntimeError()`, "RuntimeError", SpecTimeout(specTimeout)),
	)

	It("uses what the code wrote to stderr as the description", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("sys")).connection()
		o := p.runCode("T1", "import sys\nsys.stderr.write(\"the details\\n\")\nraise ValueError(\"bad\")")
		Expect(o.terminal).To(Equal(failed("T1", "bad", "the details\n")))
	}, SpecTimeout(specTimeout))

	DescribeTable("reports SystemExit as Process exited with code N",
		func(ctx SpecContext, code, message string) {
			p := newRig(ctx, stdlib("sys")).connection()
			Expect(p.runCode("T1", code).terminal).To(Equal(failed("T1", message, "")))
		},
		Entry("raise SystemExit(3)", `raise SystemExit(3)`, "Process exited with code 3", SpecTimeout(specTimeout)),
		Entry("sys.exit(0)", "import sys\nsys.exit(0)", "Process exited with code 0", SpecTimeout(specTimeout)),
		Entry("sys.exit() with no code", "import sys\nsys.exit()", "Process exited with code None", SpecTimeout(specTimeout)),
	)

	DescribeTable("reports a syntax error with the parser's text and no description, as runner:taskerror even with continue-on-fail",
		func(ctx SpecContext, cof bool) {
			p := newRig(ctx).connection()
			s := allItems("return 1\nx = = 2", item(`{"n": 1}`))
			if cof {
				s = continueOnFail(s)
			}
			Expect(p.run("T1", s).terminal).To(Equal(failed("T1", "invalid syntax (<unknown>, line 2)")))
		},
		Entry("without continue-on-fail", false, SpecTimeout(specTimeout)),
		Entry("with continue-on-fail", true, SpecTimeout(specTimeout)),
	)

	It("with both allowlists *, where n8n skips the analysis, reports a syntax error as an error of the wrapped code: one line further, and continue-on-fail applies", func(ctx SpecContext) {
		p := newRig(ctx, withEnv("N8N_RUNNERS_STDLIB_ALLOW=*", "N8N_RUNNERS_EXTERNAL_ALLOW=*")).connection()
		o := p.run("T1", allItems("return 1\nx = = 2", item(`{"n": 1}`)))
		Expect(o.terminal).To(Equal(failed("T1", "invalid syntax (<all_items_task_execution>, line 3)", "")))
		o = p.run("T2", continueOnFail(allItems("return 1\nx = = 2", item(`{"n": 1}`))))
		Expect(o.terminal).To(Equal(doneWithError("T2", "invalid syntax (<all_items_task_execution>, line 3)")))
	}, SpecTimeout(specTimeout))

	DescribeTable("reports security violations as Security violations detected with one Line N: … per violation, as runner:taskerror even with continue-on-fail",
		func(ctx SpecContext, cof bool) {
			p := newRig(ctx).connection()
			s := allItems("x = 1\nimport os\nimport subprocess\nreturn ().__class__", item(`{"n": 1}`))
			if cof {
				s = continueOnFail(s)
			}
			Expect(p.run("T1", s).terminal).To(Equal(violations("T1",
				"Line 2: "+stdlibDenied("os", "none"),
				"Line 3: "+stdlibDenied("subprocess", "none"),
				blockedAttribute(4, "__class__"),
			)))
		},
		Entry("without continue-on-fail", false, SpecTimeout(specTimeout)),
		Entry("with continue-on-fail", true, SpecTimeout(specTimeout)),
	)

	It("reports the same violations again for the same code (the cached analysis)", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		for _, id := range []string{"T1", "T2", "T3"} {
			Expect(p.runCode(id, "import os\nreturn 1").terminal).To(Equal(violations(id, "Line 1: "+stdlibDenied("os", "none"))))
		}
	}, SpecTimeout(specTimeout))

	DescribeTable("with continue-on-fail, turns an error of the code into runner:taskdone [{json: {error: message}}]",
		func(ctx SpecContext, code, message string) {
			p := newRig(ctx).connection()
			o := p.run("T1", continueOnFail(allItems(code, item(`{"n": 1}`))))
			Expect(o.terminal).To(Equal(doneWithError("T1", message)))
		},
		Entry("an exception", `raise ValueError("bad value")`, "bad value", SpecTimeout(specTimeout)),
		Entry("SystemExit", `raise SystemExit(2)`, "Process exited with code 2", SpecTimeout(specTimeout)),
		Entry("a denied builtin", `return eval("1")`, "name 'eval' is not defined", SpecTimeout(specTimeout)),
	)

	It("with continue-on-fail, leaves a successful result alone", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		Expect(p.run("T1", continueOnFail(allItems(`return [{"json": {"ok": 1}}]`))).terminal).
			To(Equal(done("T1", `[{"json":{"ok":1}}]`)))
	}, SpecTimeout(specTimeout))

	DescribeTable("refuses settings it cannot use with a runner:taskerror naming the field, even with continue-on-fail",
		func(ctx SpecContext, change func(map[string]any) map[string]any, message string) {
			p := newRig(ctx).connection()
			s := continueOnFail(allItems(`return []`, item(`{"n": 1}`)))
			Expect(p.run("T1", change(s)).terminal).To(Equal(failed("T1", message)))
			p.healthy("T2")
		},
		Entry("code missing",
			func(s map[string]any) map[string]any { return with(s, "code", nil) },
			"Invalid task settings: code is missing", SpecTimeout(specTimeout)),
		Entry("nodeMode missing",
			func(s map[string]any) map[string]any { return with(s, "nodeMode", nil) },
			"Invalid task settings: nodeMode is missing", SpecTimeout(specTimeout)),
		Entry("an unknown nodeMode",
			func(s map[string]any) map[string]any { return with(s, "nodeMode", "runOnceSideways") },
			`Invalid task settings: nodeMode must be runOnceForAllItems or runOnceForEachItem, got "runOnceSideways"`, SpecTimeout(specTimeout)),
		Entry("items missing",
			func(s map[string]any) map[string]any { return with(s, "items", nil) },
			"Invalid task settings: items is missing", SpecTimeout(specTimeout)),
		Entry("items not a list",
			func(s map[string]any) map[string]any {
				return with(s, "items", map[string]any{"json": map[string]any{}})
			},
			"Invalid task settings: items must be a list", SpecTimeout(specTimeout)),
	)
})
