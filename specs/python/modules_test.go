package python_test

import (
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// User code holds module views (python/runtime/views.py), not modules: these are what it
// must still be able to do with the modules its allowlists cover.
var _ = Describe("Modules the allowlists cover", Label("integration"), func() {
	DescribeTable("work as modules: attributes, submodules, from-imports",
		func(ctx SpecContext, allow setup, code, want string) {
			p := newRig(ctx, allow).connection()
			Expect(p.runCode("T1", code).terminal).To(Equal(done("T1", want)))
		},
		Entry("json: functions, a submodule's class, from json import decoder", stdlib("json"),
			"import json\nfrom json import decoder\nreturn [json.dumps({\"a\": 1}), json.loads(\"[2]\"), issubclass(json.decoder.JSONDecodeError, ValueError), decoder is json.decoder, str(json.decoder)[:22]]",
			`["{\"a\": 1}", [2], true, true, "<module 'json.decoder'"]`, SpecTimeout(specTimeout)),
		Entry("datetime", stdlib("datetime"),
			"import datetime\nreturn [datetime.datetime(2024, 1, 2, 3, 4).isoformat(), datetime.datetime.now().year > 2000, datetime.timedelta(days=1).total_seconds()]",
			`["2024-01-02T03:04:00", true, 86400]`, SpecTimeout(specTimeout)),
		Entry("collections.abc: a submodule of an allowed package", stdlib("collections"),
			"import collections.abc\nimport collections\nreturn [issubclass(dict, collections.abc.Mapping), collections.Counter(\"aab\")[\"a\"]]",
			`[true, 2]`, SpecTimeout(specTimeout)),
		Entry("os.path: registered as os's submodule, though its name is posixpath", stdlib("os"),
			"import os.path\nfrom os import path\nfrom os.path import join\nimport os.path as p\nreturn [os.path.join(\"a\", \"b\"), path is os.path, p is path, join(\"c\", \"d\")]",
			`["a/b", true, true, "c/d"]`, SpecTimeout(specTimeout)),
		Entry("importlib.import_module", stdlib("importlib, json"),
			"import importlib\nm = importlib.import_module(\"json.decoder\")\nreturn [m.JSONDecoder().decode(\"[1]\"), importlib.import_module(\"json\").decoder is m]",
			`[[1], true]`, SpecTimeout(specTimeout)),
		Entry("library code calling importlib.import_module gets the real module: importlib.resources.files reads __spec__", stdlib("importlib, json"),
			"import importlib.resources\nreturn importlib.resources.files(\"json\").name",
			`"json"`, SpecTimeout(specTimeout)),
		Entry("sys, whose sys.modules lists the covered modules only", stdlib("sys"),
			"import sys\nreturn [sys.version_info[0], sorted(sys.modules), \"sys\" in sys.modules, sys.modules[\"sys\"] is sys, \"importlib\" in sys.modules, sys.modules.get(\"importlib\")]",
			`[3, ["sys"], true, true, false, null]`, SpecTimeout(specTimeout)),
		Entry("stdlib *: every stdlib module is covered", stdlib("*"),
			"import json\nreturn json.decoder.re.escape(\"a.b\")",
			`"a\\.b"`, SpecTimeout(specTimeout)),
		Entry("stdlib and external *: everything, as without views", withEnv("N8N_RUNNERS_STDLIB_ALLOW=*", "N8N_RUNNERS_EXTERNAL_ALLOW=*"),
			"import json\nreturn [json.decoder.re.escape(\"a.b\"), sorted(m for m in [\"importlib\", \"builtins\"] if m in json.decoder.re.enum.sys.modules)]",
			`["a\\.b", ["builtins", "importlib"]]`, SpecTimeout(specTimeout)),
		Entry("an allowed external package and its submodules", withEnv("N8N_RUNNERS_EXTERNAL_ALLOW=pip"),
			"import pip._internal.utils.compat as compat\nimport pip\nreturn [isinstance(pip.__version__, str), pip._internal.utils.compat is compat, compat.WINDOWS]",
			`[true, true, false]`, SpecTimeout(specTimeout)),
	)

	It("can be imported and used once per item over 1,000 items", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("math")).connection()
		in := make([]any, 1000)
		want := make([]any, 1000)
		for i := range in {
			in[i] = item(`{"v": ` + strconv.Itoa(i) + `}`)
			want[i] = decode(`{"json": {"v": ` + strconv.Itoa(i/2) + `}, "pairedItem": {"item": ` + strconv.Itoa(i) + `}}`)
		}
		o := p.run("T1", perItem("import math\nreturn {\"json\": {\"v\": math.floor(_item[\"json\"][\"v\"] / 2)}}", in...))
		Expect(resultOf(o.terminal)).To(Equal(want))
	}, SpecTimeout(specTimeout))

	It("takes a module attribute set by user code, as a module does", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("json")).connection()
		o := p.runCode("T1", "import json\njson.decoder.marker = \"set\"\nfrom json import decoder\nreturn decoder.marker")
		Expect(o.terminal).To(Equal(done("T1", `"set"`)))
	}, SpecTimeout(specTimeout))
})
