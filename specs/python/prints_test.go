package python_test

import (
	"fmt"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("print()", Label("integration"), func() {
	DescribeTable("sends each call as one runner:rpc logNodeOutput, each argument formatted as n8n shows it",
		func(ctx SpecContext, call string, want []any) {
			p := newRig(ctx).connection()
			o := p.runCode("T1", call+"\nreturn []")
			Expect(o.terminal).To(Equal(done("T1", `[]`)))
			Expect(o.prints).To(Equal([][]any{want}))
		},
		Entry("a str: single-quoted", `print("Hello")`, []any{"'Hello'"}, SpecTimeout(specTimeout)),
		Entry("a str with quotes: nothing escaped", `print("it's \"q\"")`, []any{`'it's "q"'`}, SpecTimeout(specTimeout)),
		Entry("numbers: str()", `print(42, 3.14, -1, 10**20)`, []any{"42", "3.14", "-1", "100000000000000000000"}, SpecTimeout(specTimeout)),
		Entry("None and booleans: str()", `print(None, True, False)`, []any{"None", "True", "False"}, SpecTimeout(specTimeout)),
		Entry("a dict: JSON with \", \" and \": \"", `print({"a": 1, "b": [1, 2], "c": None})`,
			[]any{`{"a": 1, "b": [1, 2], "c": null}`}, SpecTimeout(specTimeout)),
		Entry("a list: JSON", `print([1, 2, "x", True])`, []any{`[1, 2, "x", true]`}, SpecTimeout(specTimeout)),
		Entry("empty containers", `print([], {})`, []any{"[]", "{}"}, SpecTimeout(specTimeout)),
		Entry("a tuple: a JSON list", `print((1, "a"))`, []any{`[1, "a"]`}, SpecTimeout(specTimeout)),
		Entry("non-ASCII: kept, in strings and in JSON", `print("ünï ✓", {"k": "日本"})`, []any{"'ünï ✓'", `{"k": "日本"}`}, SpecTimeout(specTimeout)),
		Entry("a value JSON does not know, inside a container: its str()", `print({"s": {1}})`, []any{`{"s": "{1}"}`}, SpecTimeout(specTimeout)),
		Entry("a list that contains itself: [Circular list]", "a = [1]\na.append(a)\nprint(a)", []any{"[Circular list]"}, SpecTimeout(specTimeout)),
		Entry("a dict that contains itself: [Circular dict]", "d = {}\nd[\"self\"] = d\nprint(d)", []any{"[Circular dict]"}, SpecTimeout(specTimeout)),
		Entry("a dict JSON cannot encode (tuple keys): [Circular dict]", `print({(1, 2): 3})`, []any{"[Circular dict]"}, SpecTimeout(specTimeout)),
		Entry("mixed arguments", `print("a", 1, None, [1], {"b": 2})`, []any{"'a'", "1", "None", "[1]", `{"b": 2}`}, SpecTimeout(specTimeout)),
		Entry("no arguments: an empty list", `print()`, []any{}, SpecTimeout(specTimeout)),
	)

	It("sends the calls in order, all before runner:taskdone", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.run("T1", perItem("print(\"item\", _item[\"json\"][\"n\"])\nreturn _item",
			item(`{"n": 1}`), item(`{"n": 2}`), item(`{"n": 3}`)))
		Expect(o.terminal).To(HaveKeyWithValue("type", typeDone))
		Expect(o.prints).To(Equal([][]any{{"'item'", "1"}, {"'item'", "2"}, {"'item'", "3"}}))
		Consistently(ctx, func() int { return p.printsAfter("T1") }, quiet).Should(BeZero(), "no call after the outcome")
	}, SpecTimeout(specTimeout))

	It("keeps the first 100 calls, then one [Output truncated - N more print statements] entry, all before runner:taskdone", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.runCode("T1", "for i in range(105):\n    print(i)\nreturn [{\"json\": {\"printed\": 105}}]")
		Expect(o.terminal).To(Equal(done("T1", `[{"json":{"printed":105}}]`)))
		want := make([][]any, 0, 101)
		for i := range 100 {
			want = append(want, []any{strconv.Itoa(i)})
		}
		want = append(want, []any{"[Output truncated - 5 more print statements]"})
		Expect(o.prints).To(Equal(want))
		Expect(o.late).To(BeZero())
	}, SpecTimeout(specTimeout))

	It("sends exactly 100 calls with no truncation entry", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.runCode("T1", "for i in range(100):\n    print(i)\nreturn []")
		Expect(o.terminal).To(Equal(done("T1", `[]`)))
		Expect(o.prints).To(HaveLen(100))
		Expect(o.prints[99]).To(Equal([]any{"99"}))
	}, SpecTimeout(specTimeout))

	It("refuses keyword arguments, as n8n does (print(x, end='') is a TypeError)", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.runCode("T1", `print("x", end="")`)
		m, _, _ := errorOf(o.terminal)
		Expect(m).To(ContainSubstring("unexpected keyword argument 'end'"))
		Expect(o.prints).To(BeEmpty())
	}, SpecTimeout(specTimeout))

	// runwire forwards prints as they happen; n8n 2.1 forwards them only for a task that
	// succeeds, so a failing task's output is lost there.
	It("also sends the calls of a task that then fails, before its runner:taskerror", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.runCode("T1", "print(\"before\")\nraise ValueError(\"after the print\")")
		Expect(o.terminal).To(Equal(failed("T1", "after the print", "")))
		Expect(o.prints).To(Equal([][]any{{"'before'"}}))
	}, SpecTimeout(specTimeout))

	It("sends each task's calls under its own task id", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		for i := range 3 {
			id := fmt.Sprintf("T%d", i)
			o := p.runCode(id, fmt.Sprintf("print(%d)\nreturn []", i))
			Expect(o.prints).To(Equal([][]any{{strconv.Itoa(i)}}), id)
		}
	}, SpecTimeout(specTimeout))
})
