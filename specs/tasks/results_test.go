package tasks_test

import (
	"encoding/json"
	"errors"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/specs/support"
	"github.com/runwire/runwire/tasks"
)

var _ = Describe("Results", Label("integration"), func() {
	DescribeTable("sends runner:taskdone {taskId, data: {result}} with exactly the executor's result",
		func(ctx SpecContext, raw string) {
			r := newRig(ctx)
			r.fake.ForTask("T1", support.Behaviour{Result: json.RawMessage(raw)})
			p := r.connection()
			p.start("T1", pySettings())
			Expect(p.exactlyOneTerminal("T1")).To(Equal(done("T1", json.RawMessage(raw))))
		},
		Entry("items", `[{"json":{"a":1,"b":"two"},"pairedItem":{"item":0}}]`, SpecTimeout(specTimeout)),
		Entry("no items", `[]`, SpecTimeout(specTimeout)),
		Entry("nested values, unicode, null", `[{"json":{"x":[1.5,null,true,{"y":"ünï ✓ \"q\""}],"z":{}}}]`, SpecTimeout(specTimeout)),
		Entry("an object (runOnceForEachItem)", `{"json":{"n":42}}`, SpecTimeout(specTimeout)),
		Entry("null", `null`, SpecTimeout(specTimeout)),
	)

	DescribeTable("maps a failure to runner:taskerror {taskId, error: {message, description}}",
		func(ctx SpecContext, err error, continueOnFail bool, want func(taskID string) map[string]any) {
			r := newRig(ctx)
			r.fake.ForTask("T1", support.Behaviour{Err: err})
			p := r.connection()
			p.start("T1", pySettings("continueOnFail", continueOnFail))
			Expect(p.exactlyOneTerminal("T1")).To(Equal(want("T1")))
		},
		Entry("an *Error with a description",
			&tasks.Error{Message: "boom", Description: ptr("what went wrong")}, false,
			func(id string) map[string]any { return failed(id, "boom", "what went wrong") }, SpecTimeout(specTimeout)),
		Entry("an *Error with an empty description: sent as \"\"",
			&tasks.Error{Message: "boom", Description: ptr("")}, false,
			func(id string) map[string]any { return failed(id, "boom", "") }, SpecTimeout(specTimeout)),
		Entry("an *Error without a description: no description field",
			&tasks.Error{Message: "boom"}, false,
			func(id string) map[string]any { return failed(id, "boom") }, SpecTimeout(specTimeout)),
		Entry("a fatal *Error with continueOnFail: still runner:taskerror",
			&tasks.Error{Message: "Security violations detected", Description: ptr("Line 1: Import of 'os' is disallowed"), Fatal: true}, true,
			func(id string) map[string]any {
				return failed(id, "Security violations detected", "Line 1: Import of 'os' is disallowed")
			}, SpecTimeout(specTimeout)),
		Entry("a non-fatal *Error with continueOnFail: runner:taskdone [{json: {error: message}}]",
			&tasks.Error{Message: "name 'x' is not defined", Description: ptr("")}, true,
			func(id string) map[string]any { return doneWithError(id, "name 'x' is not defined") }, SpecTimeout(specTimeout)),
		Entry("a plain error with continueOnFail: runner:taskdone [{json: {error: its text}}]",
			errors.New("plain failure"), true,
			func(id string) map[string]any { return doneWithError(id, "plain failure") }, SpecTimeout(specTimeout)),
	)

	It("reports a plain Go error with its text as the message", func(ctx SpecContext) {
		r := newRig(ctx)
		r.fake.ForTask("T1", support.Behaviour{Err: fmt.Errorf("failed to read result: %w", errors.New("pipe closed"))})
		p := r.connection()
		p.start("T1", pySettings())
		m := p.exactlyOneTerminal("T1")
		Expect(m).To(HaveKeyWithValue("type", typeError))
		Expect(m).To(HaveKeyWithValue("taskId", "T1"))
		Expect(m).To(HaveKeyWithValue("error", HaveKeyWithValue("message", "failed to read result: pipe closed")))
	}, SpecTimeout(specTimeout))

	It("leaves a successful result alone with continueOnFail", func(ctx SpecContext) {
		r := newRig(ctx)
		p := r.connection()
		p.start("T1", pySettings("continueOnFail", true))
		Expect(p.exactlyOneTerminal("T1")).To(Equal(done("T1", support.FakeResult)))
	}, SpecTimeout(specTimeout))
})

var _ = Describe("Console output", Label("integration"), func() {
	prints := [][]string{{"'Hello'"}, {"42", "True", "None"}, {}, {`{"a": 1}`, "[1, 2, 'x']"}, {"'last'"}}

	It("sends each print as one runner:rpc logNodeOutput, in order, before runner:taskdone", func(ctx SpecContext) {
		r := newRig(ctx)
		r.fake.ForTask("T1", support.Behaviour{Prints: prints})
		p := r.connection()
		p.start("T1", pySettings())
		p.exactlyOneTerminal("T1")

		var got []map[string]any
		for _, m := range p.All() {
			if m["taskId"] == "T1" && m["type"] != typeAccepted {
				got = append(got, m)
			}
		}
		Expect(got).To(HaveLen(len(prints)+1), p.Dump())
		callIDs := map[any]bool{}
		for i, want := range prints {
			params := []any{}
			for _, s := range want {
				params = append(params, s)
			}
			Expect(got[i]).To(HaveLen(5), "type, callId, taskId, name, params")
			Expect(got[i]).To(HaveKeyWithValue("type", typeRPC))
			Expect(got[i]).To(HaveKeyWithValue("taskId", "T1"))
			Expect(got[i]).To(HaveKeyWithValue("name", "logNodeOutput"))
			Expect(got[i]).To(HaveKeyWithValue("params", Equal(params)))
			Expect(got[i]).To(HaveKeyWithValue("callId", BeAssignableToTypeOf("")))
			Expect(got[i]["callId"]).NotTo(BeEmpty())
			callIDs[got[i]["callId"]] = true
		}
		Expect(callIDs).To(HaveLen(len(prints)), "call ids are unique")
		Expect(got[len(prints)]).To(Equal(done("T1", support.FakeResult)))
	}, SpecTimeout(specTimeout))

	It("keeps call ids unique and each task's prints in order across parallel tasks", func(ctx SpecContext) {
		r := newRig(ctx, withMax(3))
		lines := make([][]string, 20)
		for i := range lines {
			lines[i] = []string{fmt.Sprintf("'line %d'", i)}
		}
		r.fake.Default(support.Behaviour{Prints: lines, Block: true})
		p := r.connection()
		ids := []string{"T1", "T2", "T3"}
		for _, id := range ids {
			p.start(id, pySettings())
		}
		for _, id := range ids {
			r.fake.Release(id)
		}
		for _, id := range ids {
			p.exactlyOneTerminal(id)
		}

		callIDs := map[any]bool{}
		for _, id := range ids {
			n := 0
			for _, m := range p.All() {
				if m["taskId"] != id || m["type"] == typeAccepted {
					continue
				}
				if n < len(lines) {
					Expect(m).To(HaveKeyWithValue("type", typeRPC))
					Expect(m).To(HaveKeyWithValue("params", []any{lines[n][0]}))
					callIDs[m["callId"]] = true
				} else {
					Expect(m).To(HaveKeyWithValue("type", typeDone))
				}
				n++
			}
			Expect(n).To(Equal(len(lines) + 1))
		}
		Expect(callIDs).To(HaveLen(3*len(lines)), "call ids are unique across tasks")
	}, SpecTimeout(specTimeout))

	It("takes broker:rpcresponse for a known call id, an unknown one and a failed call without breaking anything", func(ctx SpecContext) {
		r := newRig(ctx, withMax(1))
		r.fake.ForTask("T1", support.Behaviour{Prints: [][]string{{"'a'"}, {"'b'"}}})
		p := r.connection()
		p.start("T1", pySettings())
		first := p.Await("an rpc", isType(typeRPC))
		second := p.Await("an rpc", isType(typeRPC))
		p.terminal("T1")
		notOffer := func(m map[string]any) bool { return m["type"] != typeOffer }
		before := p.Count(notOffer)

		p.Send(map[string]any{"type": "broker:rpcresponse", "callId": first["callId"], "taskId": "T1", "status": "success"})
		p.Send(map[string]any{"type": "broker:rpcresponse", "callId": second["callId"], "taskId": "T1", "status": "error", "data": "Method not allowed"})
		p.Send(map[string]any{"type": "broker:rpcresponse", "callId": "unknown-call", "taskId": "T1", "status": "success", "data": nil})
		p.Send(map[string]any{"type": "broker:rpcresponse", "callId": "unknown-call", "taskId": "ghost", "status": "success"})
		Consistently(ctx, func() int { return p.Count(notOffer) }, quiet).Should(Equal(before), "nothing is sent in reply")

		p.start("T2", pySettings())
		Expect(p.exactlyOneTerminal("T2")).To(Equal(done("T2", support.FakeResult)), "the connection still serves tasks")
	}, SpecTimeout(specTimeout))
})
