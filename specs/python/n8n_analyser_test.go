package python_test

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The cases of n8n's analyser unit tests (tests/unit/test_task_analyzer.py in
// packages/@n8n/task-runner-python), run as tasks through runwire's analyser, with the
// allowlist of n8n's fixture. A refused case must fail the analysis naming what n8n's test
// looks for; an allowed one must get past the analysis (it may still fail when it runs:
// `obj.value` has no `obj`).
var _ = Describe("n8n's analyser unit cases", Label("integration"), func() {
	fixture := stdlib("json, math, re, datetime, random, string, collections, itertools, functools, operator")

	refused := func(p *peer, cases map[string]string) {
		GinkgoHelper()
		n := 0
		for code, want := range cases {
			n++
			id := fmt.Sprintf("R%d", n)
			m, d, _ := errorOf(p.runCode(id, code).terminal)
			Expect(m).To(Equal("Security violations detected"), "%q is refused", code)
			Expect(strings.ToLower(d)).To(ContainSubstring(strings.ToLower(want)), "%q: the description names %q", code, want)
		}
	}
	allowed := func(p *peer, cases ...string) {
		GinkgoHelper()
		for i, code := range cases {
			m, _, _ := errorOf(p.runCode(fmt.Sprintf("A%d", i), code+"\nraise ValueError('ran')").terminal)
			Expect(m).NotTo(Equal("Security violations detected"), "%q passes the analysis", code)
		}
	}

	It("import validation (TestImportValidation)", func(ctx SpecContext) {
		p := newRig(ctx, fixture).connection()
		allowed(p, "import json", "import math", "from datetime import datetime", "from collections import Counter",
			"import re as regex", "from itertools import chain, cycle", "from math import *")
		refused(p, map[string]string{
			"import os": "os", "import sys": "sys", "import subprocess": "subprocess", "from os import path": "os", "import socket": "socket",
			"from . import module": "relative", "from .. import parent_module": "relative", "from ...package import something": "relative",
		})
	}, SpecTimeout(slowTimeout))

	It("attribute access (TestAttributeAccessValidation), with runwire's blocked attributes and names", func(ctx SpecContext) {
		p := newRig(ctx, fixture).connection()
		cases := map[string]string{
			"__loader__.load_module('posix')":                                   "__loader__",
			"module = __loader__.load_module('os')":                             "__loader__",
			"__spec__.loader().load_module('posix')":                            "__spec__",
			"loader = __spec__.loader()":                                        "__spec__",
			"sys.modules[__name__]":                                             "__name__",
			"builtins_module = sys.modules[__name__]; x = builtins_module.open": "__name__",
			"license._Printer__filenames":                                       "name-mangled",
			"obj._SomeClass__private_attr":                                      "name-mangled",
			"help._Helper__name":                                                "name-mangled",
			"e.obj":                                                             "obj",
			"exception.obj":                                                     "obj",
		}
		// n8n's BLOCKED_ATTRIBUTES (its newest constants.py in the search index, and obj,
		// which its test_attribute_error_obj_blocked needs).
		for _, attr := range []string{"__subclasses__", "__globals__", "__builtins__", "__traceback__", "tb_frame", "tb_next",
			"f_back", "f_globals", "f_locals", "f_code", "f_builtins", "__getattribute__", "__qualname__", "__module__",
			"gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "ag_frame", "ag_code", "__thisclass__", "__self_class__",
			"__base__", "__class__", "__bases__", "__code__", "__closure__", "__loader__", "__cached__", "__dict__", "__import__",
			"__mro__", "__init_subclass__", "__getattr__", "__setattr__", "__delattr__", "__self__", "__func__", "__wrapped__",
			"__annotations__", "__spec__", "obj"} {
			cases["obj."+attr] = attr
		}
		for _, name := range []string{"__loader__", "__builtins__", "__globals__", "__spec__", "__name__"} {
			cases[name] = name
		}
		refused(p, cases)
		allowed(p, "obj.value", "data.items()", "list.append(item)", "dict.keys()", "str.upper()", "math.pi")
	}, SpecTimeout(slowTimeout))

	It("dynamic imports (TestDynamicImportDetection)", func(ctx SpecContext) {
		p := newRig(ctx, fixture).connection()
		refused(p, map[string]string{
			"__import__('os')": "os",
			"import builtins; builtins.__import__('sys')":         "builtins",
			"module_name = 'subprocess'; __import__(module_name)": "dynamic __import__",
		})
		allowed(p, "__import__('json')", "__import__('math')", "__import__('collections')", "module = __import__('datetime')")
	}, SpecTimeout(slowTimeout))

	It("format strings (TestFormatStringAttacks)", func(ctx SpecContext) {
		p := newRig(ctx, fixture).connection()
		refused(p, map[string]string{
			`"{.__builtins__}".format(print)`:             "disallowed",
			`"{.__class__}".format(obj)`:                  "disallowed",
			`"{.__globals__}".format(fn)`:                 "disallowed",
			`"{.__class__.__mro__}".format(obj)`:          "disallowed",
			`"{.__builtins__[__import__]}".format(print)`: "disallowed",
			`"{[__import__]}".format(__builtins__)`:       "disallowed",
			`fmt = "{.__class__}"`:                        "disallowed",
			`fmt = "{.__builtins__}"; fmt.format(obj)`:    "disallowed",
			`f"{obj.__class__}"`:                          "disallowed",
			`f"{fn.__globals__}"`:                         "disallowed",
		})
		allowed(p, `"Hello {}".format(name)`, `"{0} {1}".format(a, b)`, `"{name}".format(name="world")`, `"{.value}".format(obj)`,
			`"{[key]}".format(data)`, `"{:.2f}".format(3.14159)`, `"{{.__class__}}".format()`, `"{{.__builtins__}}".format()`, `"{{.__globals__}}".format()`)
	}, SpecTimeout(slowTimeout))

	It("match patterns (TestMatchPatternValidation)", func(ctx SpecContext) {
		if in, err := interpreter(); err == nil && (strings.HasPrefix(in.Version, "3.9.") || in.Version == "3.9") {
			Skip("match statements need Python 3.10 or newer; this is " + in.Version)
		}
		p := newRig(ctx, fixture).connection()
		refused(p, map[string]string{
			"ex = None\ntry:\n    pass\nexcept Exception as e:\n    ex = e\nmatch ex:\n    case AttributeError(obj=rip):\n        pass": "disallowed",
			"match error:\n    case ValueError(obj=x):\n        pass":                                                                   "disallowed",
			"match e:\n    case Exception(__traceback__=tb):\n        pass":                                                             "disallowed",
		})
		allowed(p, "match value:\n    case 1:\n        pass\n    case \"hello\":\n        pass",
			"match point:\n    case Point(x=x, y=y):\n        pass",
			"match data:\n    case {\"key\": value}:\n        pass",
			"match result:\n    case [first, *rest]:\n        pass")
	}, SpecTimeout(slowTimeout))

	It("allow-all (TestAllowAll): both allowlists * skip the analysis", func(ctx SpecContext) {
		p := newRig(ctx, withEnv("N8N_RUNNERS_STDLIB_ALLOW=*", "N8N_RUNNERS_EXTERNAL_ALLOW=*")).connection()
		allowed(p, "import os", "import sys", "__import__('subprocess')", "obj.__subclasses__", "from . import relative")
	}, SpecTimeout(slowTimeout))
})
