package python_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("Import allowlists", Label("integration"), func() {
	DescribeTable("N8N_RUNNERS_STDLIB_ALLOW",
		func(ctx SpecContext, list, code string, want func(taskID string) map[string]any) {
			p := newRig(ctx, stdlib(list)).connection()
			Expect(p.runCode("T1", code).terminal).To(Equal(want("T1")))
		},
		Entry("empty (the default): no stdlib module", "", "import json\nreturn 1",
			func(id string) map[string]any { return violations(id, "Line 1: "+stdlibDenied("json", "none")) }, SpecTimeout(specTimeout)),
		Entry("json: json imports", "json", "import json\nreturn json.loads('{\"a\": [1]}')",
			func(id string) map[string]any { return done(id, `{"a":[1]}`) }, SpecTimeout(specTimeout)),
		Entry("json: from json import …", "json", "from json import dumps\nreturn dumps([1])",
			func(id string) map[string]any { return done(id, `"[1]"`) }, SpecTimeout(specTimeout)),
		Entry("json, math: a module not listed is refused, the list sorted in the text", "math, json", "import json\nimport os",
			func(id string) map[string]any { return violations(id, "Line 2: "+stdlibDenied("os", "json, math")) }, SpecTimeout(specTimeout)),
		Entry("the top-level package decides: os allows os.path", "os", "import os.path\nreturn os.path.join('a', 'b')",
			func(id string) map[string]any { return done(id, `"a/b"`) }, SpecTimeout(specTimeout)),
		Entry("a submodule of a module not listed is refused under its full name", "json", "import xml.etree.ElementTree",
			func(id string) map[string]any {
				return violations(id, "Line 1: "+stdlibDenied("xml.etree.ElementTree", "json"))
			}, SpecTimeout(specTimeout)),
		Entry("*: every stdlib module", "*", "import os, json, math, subprocess\nreturn math.floor(2.5)",
			func(id string) map[string]any { return done(id, `2`) }, SpecTimeout(specTimeout)),
		Entry("*: still no external package", "*", "import pip",
			func(id string) map[string]any { return violations(id, "Line 1: "+externalDenied("pip", "none")) }, SpecTimeout(specTimeout)),
	)

	DescribeTable("N8N_RUNNERS_EXTERNAL_ALLOW",
		func(ctx SpecContext, list, code string, want func(taskID string) map[string]any) {
			p := newRig(ctx, withEnv("N8N_RUNNERS_EXTERNAL_ALLOW="+list)).connection()
			Expect(p.runCode("T1", code).terminal).To(Equal(want("T1")))
		},
		Entry("empty (the default): an installed package is refused", "", "import pip",
			func(id string) map[string]any { return violations(id, "Line 1: "+externalDenied("pip", "none")) }, SpecTimeout(specTimeout)),
		Entry("another package listed: refused, with the list in the text", "numpy", "from pip import __version__",
			func(id string) map[string]any { return violations(id, "Line 1: "+externalDenied("pip", "numpy")) }, SpecTimeout(specTimeout)),
		Entry("pip listed: pip imports", "pip", "import pip\nreturn isinstance(pip.__version__, str)",
			func(id string) map[string]any { return done(id, `true`) }, SpecTimeout(specTimeout)),
	)

	It("refuses a relative import", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*")).connection()
		Expect(p.runCode("T1", "from . import x").terminal).To(Equal(violations("T1", "Line 1: Relative imports are disallowed.")))
	}, SpecTimeout(specTimeout))

	It("checks imports at run time too: a refused one is Security violation detected with the allowlist text, and continue-on-fail applies", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("importlib")).connection()
		code := "import importlib\nname = 'o' + 's'\nreturn importlib.import_module(name).getcwd()"
		Expect(p.runCode("T1", code).terminal).To(Equal(failed("T1", "Security violation detected", stdlibDenied("os", "importlib"))))
		Expect(p.run("T2", continueOnFail(allItems(code))).terminal).To(Equal(doneWithError("T2", "Security violation detected")))
	}, SpecTimeout(specTimeout))
})

var _ = Describe("Denied builtins", Label("integration"), func() {
	DescribeTable("n8n's default N8N_RUNNERS_BUILTINS_DENY takes the name away",
		func(ctx SpecContext, code, message string) {
			p := newRig(ctx).connection()
			Expect(p.runCode("T1", code).terminal).To(Equal(failed("T1", message, "")))
		},
		Entry("open", `return open("/etc/hostname").read()`, "name 'open' is not defined", SpecTimeout(specTimeout)),
		Entry("eval", `return eval("1 + 1")`, "name 'eval' is not defined", SpecTimeout(specTimeout)),
		Entry("exec", `exec("x = 1")`, "name 'exec' is not defined", SpecTimeout(specTimeout)),
		Entry("compile", `compile("1", "f", "eval")`, "name 'compile' is not defined", SpecTimeout(specTimeout)),
		Entry("getattr", `return getattr(1, "real")`, "name 'getattr' is not defined", SpecTimeout(specTimeout)),
		Entry("type", `return type(1)`, "name 'type' is not defined", SpecTimeout(specTimeout)),
		Entry("globals", `return globals()`, "name 'globals' is not defined", SpecTimeout(specTimeout)),
		Entry("a class statement (__build_class__)", "class A:\n    x = 1\nreturn A.x", "__build_class__ not found", SpecTimeout(specTimeout)),
	)

	It("keeps what N8N_RUNNERS_BUILTINS_DENY does not list", func(ctx SpecContext) {
		p := newRig(ctx, withEnv("N8N_RUNNERS_BUILTINS_DENY=eval")).connection()
		Expect(p.runCode("T1", "class A:\n    x = 1\nreturn [A.x, type(1) is int, len(dir([])) > 0]").terminal).
			To(Equal(done("T1", `[1,true,true]`)))
		Expect(p.runCode("T2", `return eval("1 + 1")`).terminal).To(Equal(failed("T2", "name 'eval' is not defined", "")))
	}, SpecTimeout(specTimeout))
})
