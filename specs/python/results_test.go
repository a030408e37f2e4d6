package python_test

import (
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("All-items mode (runOnceForAllItems)", Label("integration"), func() {
	DescribeTable("returns the function's return value as is, not normalised",
		func(ctx SpecContext, code, want string) {
			p := newRig(ctx).connection()
			Expect(p.runCode("T1", code).terminal).To(Equal(done("T1", want)))
		},
		Entry("a list of items", `return [{"json": {"a": 1}}, {"json": {"b": [1, 2.5, None]}}]`,
			`[{"json":{"a":1}},{"json":{"b":[1,2.5,null]}}]`, SpecTimeout(specTimeout)),
		Entry("a list of plain dicts (n8n wraps them later)", `return [{"a": 1}, {"b": "two"}]`,
			`[{"a":1},{"b":"two"}]`, SpecTimeout(specTimeout)),
		Entry("a dict", `return {"a": 1, "nested": {"t": True}}`, `{"a":1,"nested":{"t":true}}`, SpecTimeout(specTimeout)),
		Entry("a scalar", `return 42`, `42`, SpecTimeout(specTimeout)),
		Entry("a string", `return "text"`, `"text"`, SpecTimeout(specTimeout)),
		Entry("None: null", `return None`, `null`, SpecTimeout(specTimeout)),
		Entry("no return at all: null", `x = 1`, `null`, SpecTimeout(specTimeout)),
	)

	It("gives the code the input items as _items, exactly as n8n sent them", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		in := []any{
			decode(`{"json": {"n": 1, "s": "a"}, "pairedItem": {"item": 0}}`),
			decode(`{"json": {"n": 2, "list": [1, {"x": null}]}, "binary": {"data": {"mimeType": "text/plain", "data": "aGk="}}, "pairedItem": {"item": 1}}`),
		}
		o := p.run("T1", allItems("return _items", in...))
		Expect(resultOf(o.terminal)).To(Equal(in))

		o = p.run("T2", allItems(`return [{"json": {"double": i["json"]["n"] * 2}} for i in _items]`, in...))
		Expect(o.terminal).To(Equal(done("T2", `[{"json":{"double":2}},{"json":{"double":4}}]`)))
	}, SpecTimeout(specTimeout))

	DescribeTable("gives the code the tool-call input as _query",
		func(ctx SpecContext, query any, want string) {
			p := newRig(ctx).connection()
			s := settings("runOnceForAllItems", `return {"query": _query}`, nil) // the AI-tool variant: items []
			o := p.run("T1", with(s, "query", query))
			Expect(o.terminal).To(Equal(done("T1", want)))
		},
		Entry("a string", "what is 2 + 2?", `{"query":"what is 2 + 2?"}`, SpecTimeout(specTimeout)),
		Entry("an object", map[string]any{"city": "Zürich"}, `{"query":{"city":"Zürich"}}`, SpecTimeout(specTimeout)),
		Entry("absent: None", nil, `{"query":null}`, SpecTimeout(specTimeout)),
	)
})

var _ = Describe("Per-item mode (runOnceForEachItem)", Label("integration"), func() {
	three := []any{item(`{"n": 1}`), item(`{"n": 2}`), item(`{"n": 3}`)}

	It("runs the code once per item with the item as _item, and pairs each output with its input", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.run("T1", perItem(`return {"json": {"n": _item["json"]["n"] * 10}}`, three...))
		Expect(o.terminal).To(Equal(done("T1", `[
			{"json":{"n":10},"pairedItem":{"item":0}},
			{"json":{"n":20},"pairedItem":{"item":1}},
			{"json":{"n":30},"pairedItem":{"item":2}}]`)))
	}, SpecTimeout(specTimeout))

	It("drops the items for which the code returns None", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.run("T1", perItem("if _item[\"json\"][\"n\"] == 2:\n    return None\nreturn _item", three...))
		Expect(o.terminal).To(Equal(done("T1", `[
			{"json":{"n":1},"pairedItem":{"item":0}},
			{"json":{"n":3},"pairedItem":{"item":2}}]`)))
	}, SpecTimeout(specTimeout))

	DescribeTable("shapes what the code returns into an item",
		func(ctx SpecContext, code, want string) {
			p := newRig(ctx).connection()
			Expect(p.run("T1", perItem(code, item(`{"n": 1}`))).terminal).To(Equal(done("T1", want)))
		},
		Entry("a dict with a json key: that value is the item's json, the other keys go",
			`return {"json": {"a": 1}, "other": 5}`,
			`[{"json":{"a":1},"pairedItem":{"item":0}}]`, SpecTimeout(specTimeout)),
		Entry("a json key next to binary: both kept",
			`return {"json": {"a": 1}, "binary": {"file": {"mimeType": "text/plain", "data": "aGk="}}}`,
			`[{"json":{"a":1},"binary":{"file":{"mimeType":"text/plain","data":"aGk="}},"pairedItem":{"item":0}}]`, SpecTimeout(specTimeout)),
		Entry("a dict with binary and no json key: binary split off, the rest is json",
			`return {"a": 1, "binary": {"file": {"mimeType": "text/plain", "data": "aGk="}}}`,
			`[{"json":{"a":1},"binary":{"file":{"mimeType":"text/plain","data":"aGk="}},"pairedItem":{"item":0}}]`, SpecTimeout(specTimeout)),
		Entry("binary alone: an empty json",
			`return {"binary": {"file": {"mimeType": "text/plain", "data": "aGk="}}}`,
			`[{"json":{},"binary":{"file":{"mimeType":"text/plain","data":"aGk="}},"pairedItem":{"item":0}}]`, SpecTimeout(specTimeout)),
		Entry("a plain dict: the item's json",
			`return {"a": 1}`,
			`[{"json":{"a":1},"pairedItem":{"item":0}}]`, SpecTimeout(specTimeout)),
		Entry("a non-dict: the item's json as is (n8n rejects it later)",
			`return 5`,
			`[{"json":5,"pairedItem":{"item":0}}]`, SpecTimeout(specTimeout)),
	)

	It("gives each item fresh globals: nothing one item's run sets is there for the next", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		code := "global counter\ntry:\n    counter += 1\nexcept NameError:\n    counter = 1\nreturn {\"counter\": counter}"
		Expect(p.run("T1", perItem(code, three...)).terminal).To(Equal(done("T1", `[
			{"json":{"counter":1},"pairedItem":{"item":0}},
			{"json":{"counter":1},"pairedItem":{"item":1}},
			{"json":{"counter":1},"pairedItem":{"item":2}}]`)))
	}, SpecTimeout(specTimeout))

	It("has no _items and no _query", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.run("T1", continueOnFail(perItem(`return {"q": _query}`, item(`{"n": 1}`))))
		Expect(o.terminal).To(Equal(doneWithError("T1", "name '_query' is not defined")))
		o = p.run("T2", continueOnFail(perItem(`return {"i": _items}`, item(`{"n": 1}`))))
		Expect(o.terminal).To(Equal(doneWithError("T2", "name '_items' is not defined")))
	}, SpecTimeout(specTimeout))
})

var _ = Describe("Result serialisation", Label("integration"), func() {
	It("keeps non-ASCII text as it is", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.runCode("T1", `return [{"json": {"s": "ünïcödé ✓ 日本語 🎉", "k€y": "ß"}}]`)
		Expect(o.terminal).To(Equal(done("T1", `[{"json":{"s":"ünïcödé ✓ 日本語 🎉","k€y":"ß"}}]`)))
	}, SpecTimeout(specTimeout))

	DescribeTable("turns values JSON does not know into their str()",
		func(ctx SpecContext, env []string, code, want string) {
			p := newRig(ctx, withEnv(env...)).connection()
			Expect(p.runCode("T1", code).terminal).To(Equal(done("T1", want)))
		},
		Entry("a set", nil, `return {"v": {1}}`, `{"v":"{1}"}`, SpecTimeout(specTimeout)),
		Entry("a complex number", nil, `return {"v": 1+2j}`, `{"v":"(1+2j)"}`, SpecTimeout(specTimeout)),
		Entry("bytes", nil, `return {"v": b"ab"}`, `{"v":"b'ab'"}`, SpecTimeout(specTimeout)),
		Entry("a range", nil, `return {"v": range(3)}`, `{"v":"range(0, 3)"}`, SpecTimeout(specTimeout)),
		Entry("a date", []string{"N8N_RUNNERS_STDLIB_ALLOW=datetime"},
			"import datetime\nreturn [{\"json\": {\"d\": datetime.date(2024, 1, 2)}}]", `[{"json":{"d":"2024-01-02"}}]`, SpecTimeout(specTimeout)),
	)

	DescribeTable("fails a result holding NaN or ±Infinity with a message that says why, never a frame with a bare NaN",
		func(ctx SpecContext, value string) {
			r := newRig(ctx)
			p := r.connection()
			m, d, ok := errorOf(p.runCode("T1", `return [{"json": {"x": `+value+`}}]`).terminal)
			Expect(m).To(Equal("The result contains NaN or Infinity, which n8n cannot store as JSON"))
			Expect(ok).To(BeTrue(), "it has a description")
			Expect(d).To(ContainSubstring("NaN"))

			// With continue-on-fail it is an ordinary error item.
			Expect(p.run("T2", continueOnFail(allItems(`return {"x": `+value+`}`))).terminal).
				To(Equal(doneWithError("T2", "The result contains NaN or Infinity, which n8n cannot store as JSON")))

			// Every text frame the runner sent, read raw off the wire, is JSON.
			Expect(r.tap.problems()).To(BeEmpty(), "the tap followed the connection")
			raw := r.tap.messages()
			Expect(raw).To(ContainElement(ContainSubstring(`"runner:taskerror"`)), "the tap saw the taskerror")
			for _, frame := range raw {
				Expect(json.Valid([]byte(frame))).To(BeTrue(), "a frame that is not JSON: %s", frame)
			}
		},
		Entry("NaN", `float("nan")`, SpecTimeout(specTimeout)),
		Entry("Infinity", `float("inf")`, SpecTimeout(specTimeout)),
		Entry("-Infinity", `-float("inf")`, SpecTimeout(specTimeout)),
	)
})
