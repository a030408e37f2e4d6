package python_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Issue #12 point 1: as in n8n, a string is data. Only the fields of a format template are
// looked at (and, runwire's own rule, a constant handed to a call that reads an attribute by
// its name: see python/runtime/README.md).
var _ = Describe("Strings are data", Label("integration"), func() {
	keys := []string{"obj", "__class__", "__name__", "__dict__", "__builtins__"}

	DescribeTable("a blocked name or attribute as a dict key passes, as in n8n",
		func(ctx SpecContext, key string) {
			p := newRig(ctx).connection()
			code := `return [{"json": {"` + key + `": 1, "again": {"` + key + `": "` + key + `"}}}]`
			Expect(p.runCode("T1", code).terminal).To(Equal(done("T1", `[{"json":{"`+key+`":1,"again":{"`+key+`":"`+key+`"}}}]`)))
		},
		Entry("obj", keys[0], SpecTimeout(specTimeout)),
		Entry("__class__", keys[1], SpecTimeout(specTimeout)),
		Entry("__name__", keys[2], SpecTimeout(specTimeout)),
		Entry("__dict__", keys[3], SpecTimeout(specTimeout)),
		Entry("__builtins__", keys[4], SpecTimeout(specTimeout)),
	)

	DescribeTable("a blocked name or attribute as a plain string (and one built from constants) passes",
		func(ctx SpecContext, key string) {
			p := newRig(ctx).connection()
			half := len(key) / 2
			code := `s = "` + key + `"` + "\n" + `t = "` + key[:half] + `" + "` + key[half:] + `"` + "\nreturn [{\"json\": {\"s\": s, \"same\": s == t}}]"
			Expect(p.runCode("T1", code).terminal).To(Equal(done("T1", `[{"json":{"s":"`+key+`","same":true}}]`)))
		},
		Entry("obj", keys[0], SpecTimeout(specTimeout)),
		Entry("__class__", keys[1], SpecTimeout(specTimeout)),
		Entry("__name__", keys[2], SpecTimeout(specTimeout)),
		Entry("__dict__", keys[3], SpecTimeout(specTimeout)),
		Entry("__builtins__", keys[4], SpecTimeout(specTimeout)),
	)

	It("reads a JSON field called obj, which n8n runs", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.run("T1", allItems(`return [{"json": {"obj": _items[0]["json"]["obj"]}}]`, item(`{"obj": {"id": 7}}`)))
		Expect(o.terminal).To(Equal(done("T1", `[{"json":{"obj":{"id":7}}}]`)))
	}, SpecTimeout(specTimeout))

	DescribeTable("globals()['__builtins__'] and locals()['__builtins__'] fail at run time with n8n's text",
		func(ctx SpecContext, code, message string) {
			p := newRig(ctx).connection()
			m, _, _ := errorOf(p.runCode("T1", code).terminal)
			Expect(m).To(Equal(message))
		},
		Entry("globals()['__builtins__']", "b = globals()['__builtins__']\nimp = b['__import__']\nos = imp('os')\nreturn [{\"json\": {\"pid\": os.getpid()}}]",
			"name 'globals' is not defined", SpecTimeout(specTimeout)),
		Entry("b['__import__'] after b = globals()", "b = globals()\nreturn b['__import__']('os').getpid()",
			"name 'globals' is not defined", SpecTimeout(specTimeout)),
		Entry("locals()['__builtins__']", "b = locals()['__builtins__']\nimp = b['__import__']\nos = imp('os')\nreturn [{\"json\": {\"pid\": os.getpid()}}]",
			"name 'locals' is not defined", SpecTimeout(specTimeout)),
	)

	DescribeTable("format-string escapes still fail in the analysis",
		func(ctx SpecContext, code string, lines ...string) {
			p := newRig(ctx).connection()
			Expect(p.runCode("T1", code).terminal).To(Equal(violations("T1", lines...)))
		},
		Entry("n8n's '{.__builtins__[__import__].__call__.a}'.format(print)",
			"ex = None\ntry:\n    \"{.__builtins__[__import__].__call__.a}\".format(print)\nexcept Exception as e:\n    ex = e\nreturn [{\"json\": {\"error\": str(ex)}}]",
			stringPattern(3, "__builtins__"), stringPattern(3, "__import__"), SpecTimeout(specTimeout)),
		Entry("a template kept in a variable", "fmt = \"{0.__class__}\"\nreturn fmt.format(1)",
			stringPattern(1, "__class__"), SpecTimeout(specTimeout)),
		Entry("a template built from constants", "return (\"{0.__cla\" + \"ss__}\").format(1)",
			stringPattern(1, "__class__"), SpecTimeout(specTimeout)),
	)

	// The route n8n leaves open: with operator (in n8n's own analyser fixture) and json
	// allowed, attrgetter reads json.dumps' module globals, whose __builtins__ is the real
	// builtins module's namespace and its unguarded __import__. The constant is refused
	// where it is used, not wherever it appears.
	DescribeTable("(runwire) a blocked attribute handed as a constant to a call that reads attributes by name is refused there",
		func(ctx SpecContext, list, code string, lines ...string) {
			p := newRig(ctx, stdlib(list)).connection()
			Expect(p.runCode("T1", code).terminal).To(Equal(violations("T1", lines...)))
		},
		Entry("operator.attrgetter('__globals__') on a library function", "operator, json",
			"import operator, json\ng = operator.attrgetter(\"__globals__\")(json.dumps)\nreturn g[\"__builtins__\"][\"__import__\"](\"os\").getpid()",
			blockedAttribute(2, "__globals__"), SpecTimeout(specTimeout)),
		Entry("a dotted attrgetter path built from constants", "operator, json",
			"import operator, json\nreturn operator.attrgetter(\"dumps.__glo\" + \"bals__\")(json)",
			blockedAttribute(2, "__globals__"), SpecTimeout(specTimeout)),
		Entry("functools.update_wrapper copying __globals__", "functools, json",
			"import functools, json\ndef g():\n    pass\nfunctools.update_wrapper(g, json.dumps, assigned=(), updated=(\"__globals__\",))\nreturn 1",
			blockedAttribute(4, "__globals__"), SpecTimeout(specTimeout)),
		Entry("operator.methodcaller('format'), an unguarded str.format", "operator",
			"import operator\nreturn operator.methodcaller(\"format\", 1)(\"{0}\")",
			"Line 2: Extracting 'format' as a bound method is disallowed; call it directly on its receiver instead.", SpecTimeout(specTimeout)),
	)

	// Attributes runwire blocks beyond n8n's list, each with the escape it stops.
	DescribeTable("(runwire) attributes blocked beyond n8n's list stop the escape they lead to",
		func(ctx SpecContext, list, code string, lines ...string) {
			p := newRig(ctx, stdlib(list)).connection()
			Expect(p.runCode("T1", code).terminal).To(Equal(violations("T1", lines...)))
		},
		Entry("__reduce_ex__: a bound method's reduction holds the real getattr, a denied builtin, which reaches json.dumps' globals", "json",
			"import json\ng = [].append.__reduce_ex__(2)[0]\nb = g(json.dumps, \"__glo\" + \"bals__\")[\"__builtins__\"]\nreturn b[\"__import__\"](\"os\").getpid()",
			blockedAttribute(2, "__reduce_ex__"), SpecTimeout(specTimeout)),
		Entry("__reduce__: the same through the older protocol", "json",
			"import json\ng = [].append.__reduce__()[0]\nb = g(json.dumps, \"__glo\" + \"bals__\")[\"__builtins__\"]\nreturn b[\"__import__\"](\"os\").getpid()",
			blockedAttribute(2, "__reduce__"), SpecTimeout(specTimeout)),
		Entry("__objclass__: a slot wrapper's class is object, the denied builtin", "",
			"o = str.__init__.__objclass__\nreturn o.__subclasses__()",
			blockedAttribute(1, "__objclass__"), blockedAttribute(2, "__subclasses__"), SpecTimeout(specTimeout)),
	)

	It("runs code that reads __match_args__, __instancecheck__, __subclasscheck__ or __prepare__, as n8n does", func(ctx SpecContext) {
		if in, err := interpreter(); err == nil && strings.HasPrefix(in.Version, "3.9") {
			Skip("namedtuple has __match_args__ from Python 3.10; this is " + in.Version)
		}
		p := newRig(ctx, stdlib("collections")).connection()
		code := "import collections\nP = collections.namedtuple(\"P\", \"x y\")\n" +
			"return [{\"json\": {\"args\": list(P.__match_args__), \"check\": int.__instancecheck__(3), \"sub\": int.__subclasscheck__(bool), \"prep\": dict(int.__prepare__(\"X\", ()))}}]"
		Expect(p.runCode("T1", code).terminal).To(Equal(done("T1", `[{"json":{"args":["x","y"],"check":true,"sub":true,"prep":{}}}]`)))
	}, SpecTimeout(specTimeout))

	It("such calls with names that are not blocked, or with blocked names as ordinary data (not the name argument), pass", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("operator")).connection()
		o := p.run("T1", allItems("import operator\nreturn [{\"json\": {\"obj\": operator.itemgetter(\"obj\")(_items[0][\"json\"]), \"real\": operator.attrgetter(\"real\")(3), \"get\": operator.methodcaller(\"get\", \"__class__\")({\"__class__\": 2}), \"name\": operator.attrgetter(\"__name__\")(operator)}}]", item(`{"obj": 1}`)))
		Expect(o.terminal).To(Equal(done("T1", `[{"json":{"obj":1,"real":3,"get":2,"name":"operator"}}]`)))
	}, SpecTimeout(specTimeout))
})

// Issue #12 point 2: with env access blocked, user code's environment is empty, as in n8n;
// tempfile still uses the task's private directory.
var _ = Describe("A blocked environment", Label("integration"), func() {
	envCount := "import os\nreturn [{\"json\": {\"count\": len(os.environ), \"path\": os.environ.get(\"PATH\", \"NOT_FOUND\")}}]"
	envCountPerItem := "import os\nreturn {\"count\": len(dict(os.environ)), \"path\": os.environ.get(\"PATH\", \"NOT_FOUND\")}"
	withTempfile := func(code string) string {
		return "import tempfile\ntempfile.gettempdir()\n" + code
	}

	DescribeTable("is empty in both modes, with and without tempfile imported",
		func(ctx SpecContext, block []string, perItemMode, importTempfile bool) {
			p := newRig(ctx, withEnv(append([]string{"N8N_RUNNERS_STDLIB_ALLOW=os,tempfile", "SPEC_VISIBLE=yes"}, block...)...)).connection()
			var o outcome
			switch {
			case perItemMode && importTempfile:
				o = p.run("T1", perItem(withTempfile(envCountPerItem), item(`{"i": 0}`), item(`{"i": 1}`)))
			case perItemMode:
				o = p.run("T1", perItem(envCountPerItem, item(`{"i": 0}`), item(`{"i": 1}`)))
			case importTempfile:
				o = p.runCode("T1", withTempfile(envCount))
			default:
				o = p.runCode("T1", envCount)
			}
			if perItemMode {
				Expect(o.terminal).To(Equal(done("T1", `[{"json":{"count":0,"path":"NOT_FOUND"},"pairedItem":{"item":0}},{"json":{"count":0,"path":"NOT_FOUND"},"pairedItem":{"item":1}}]`)))
			} else {
				Expect(o.terminal).To(Equal(done("T1", `[{"json":{"count":0,"path":"NOT_FOUND"}}]`)))
			}
		},
		Entry("all items, N8N_BLOCK_RUNNER_ENV_ACCESS unset", nil, false, false, SpecTimeout(specTimeout)),
		Entry("all items, unset, tempfile imported", nil, false, true, SpecTimeout(specTimeout)),
		Entry("all items, =true, tempfile imported", []string{"N8N_BLOCK_RUNNER_ENV_ACCESS=true"}, false, true, SpecTimeout(specTimeout)),
		Entry("per item, unset", nil, true, false, SpecTimeout(specTimeout)),
		Entry("per item, =true", []string{"N8N_BLOCK_RUNNER_ENV_ACCESS=true"}, true, false, SpecTimeout(specTimeout)),
		Entry("per item, =true, tempfile imported", []string{"N8N_BLOCK_RUNNER_ENV_ACCESS=true"}, true, true, SpecTimeout(specTimeout)),
	)

	// privateDir is task code that reports where tempfile puts things: the task's private
	// directory is one of runwire's tasks' temp root, named by the zygote (walls.private_tmp).
	privateDir := "tdir = t.gettempdir()\nfd, path = t.mkstemp()\nos.close(fd)\n" +
		"return [{\"json\": {\"private\": os.path.basename(tdir).isdigit() and os.path.basename(os.path.dirname(tdir)) == \"tmp\" and tdir != \"/tmp\", " +
		"\"inside\": os.path.dirname(path) == tdir, \"environ\": len(os.environ)}}]"

	It("still has tempfile.gettempdir() and mkstemp() in the task's private directory", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("os, tempfile")).connection()
		o := p.runCode("T1", "import os\nimport tempfile as t\n"+privateDir)
		Expect(o.terminal).To(Equal(done("T1", `[{"json":{"private":true,"inside":true,"environ":0}}]`)))
	}, SpecTimeout(specTimeout))

	It("still has tempfile in the private directory when an allowed library imported it", func(ctx SpecContext) {
		// urllib.request imports tempfile itself; the task never imports it.
		p := newRig(ctx, stdlib("*")).connection()
		o := p.runCode("T1", "import os, sys\nimport urllib.request\nt = sys.modules[\"tempfile\"]\n"+privateDir)
		Expect(o.terminal).To(Equal(done("T1", `[{"json":{"private":true,"inside":true,"environ":0}}]`)))
	}, SpecTimeout(specTimeout))

	It("with env access allowed, is runwire's and points TMPDIR at the private directory", func(ctx SpecContext) {
		p := newRig(ctx, withEnv("N8N_RUNNERS_STDLIB_ALLOW=os", "N8N_BLOCK_RUNNER_ENV_ACCESS=false")).connection()
		seen, _ := resultOf(p.runCode("T1", "import os\nreturn [{\"json\": {\"has_path\": \"PATH\" in os.environ, \"tmpdir\": os.path.basename(os.environ[\"TMPDIR\"]).isdigit() and os.path.dirname(os.environ[\"TMPDIR\"]).endswith(\"/tmp\")}}]").terminal).([]any)
		Expect(seen).To(HaveLen(1))
		Expect(seen[0]).To(Equal(map[string]any{"json": map[string]any{"has_path": true, "tmpdir": true}}))
	}, SpecTimeout(specTimeout))
})

// Issue #10 point 9 / attack 8: every entry point of string.Formatter's field walk is
// checked, and replacing the Formatter's other methods does not get around the check.
var _ = Describe("string.Formatter", Label("integration"), func() {
	// template builds, at run time (out of the analyser's sight), the field that reaches
	// the real builtins through a Formatter method's module globals.
	template := "t = \"\".join([\"{0.get_value.__glo\", \"bals__[__builtins__]}\"])\nf = string.Formatter()\n"
	refused := failed("T1", "Security violation detected", "String pattern accessing '__globals__' is disallowed, because it can be used to bypass security restrictions.")

	DescribeTable("refuses a field walk to a blocked attribute, whatever the entry point",
		func(ctx SpecContext, code string) {
			p := newRig(ctx, stdlib("string")).connection()
			Expect(p.runCode("T1", "import string\nbox = []\n"+template+code).terminal).To(Equal(refused))
		},
		Entry("the private _vformat", "return str(f._vformat(t, (f,), {}, set(), 2))", SpecTimeout(specTimeout)),
		Entry("format_field replaced on the class to hand back the object, then _vformat",
			"def grab(self, value, spec):\n    box.append(value)\n    return \"\"\nstring.Formatter.format_field = grab\nf._vformat(t, (f,), {}, set(), 2)\nreturn box[0][\"__import__\"](\"os\").getpid()",
			SpecTimeout(specTimeout)),
		Entry("parse replaced on the class, so that the template the guard sees has no field",
			"def fields(self, s):\n    return [(\"\", t[1:-1], \"\", None)]\nstring.Formatter.parse = fields\nreturn f.format(\"plain text\", f)", SpecTimeout(specTimeout)),
		Entry("get_field called directly", "return str(f.get_field(t[1:-1], (f,), {}))", SpecTimeout(specTimeout)),
	)

	It("is checked in a string module loaded by a library, not by the task", func(ctx SpecContext) {
		// logging loads string itself (its Template); the zygote does not hold string,
		// so this is a load through runwire's import hook (sandbox.PatchOnImport).
		p := newRig(ctx, stdlib("logging, string, sys")).connection()
		code := "import sys, logging\nloaded_by_logging = \"string\" in sys.modules\nimport string\nbox = []\n" + template +
			"try:\n    f._vformat(t, (f,), {}, set(), 2)\nexcept Exception as e:\n    return [{\"json\": {\"by_logging\": loaded_by_logging, \"refused\": e.description}}]"
		Expect(p.runCode("T1", code).terminal).To(Equal(done("T1", `[{"json":{"by_logging":true,"refused":"String pattern accessing '__globals__' is disallowed, because it can be used to bypass security restrictions."}}]`)))
	}, SpecTimeout(specTimeout))

	It("still formats ordinary fields through every entry point", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("string")).connection()
		code := "import string\nf = string.Formatter()\nd = {\"a\": [10, 20]}\n" +
			"return [{\"json\": {\"format\": f.format(\"{0[a][1]}-{x.real}\", d, x=3), \"vformat\": f.vformat(\"{0[a][0]}\", (d,), {}), \"_vformat\": f._vformat(\"{0[a]}\", (d,), {}, set(), 2)[0]}}]"
		Expect(p.runCode("T1", code).terminal).To(Equal(done("T1", `[{"json":{"format":"20-3","vformat":"10","_vformat":"[10, 20]"}}]`)))
	}, SpecTimeout(specTimeout))

})
