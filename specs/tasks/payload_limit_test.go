package tasks_test

import (
	"encoding/json"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"

	"github.com/runwire/runwire/specs/support"
)

var _ = Describe("Messages over N8N_RUNNERS_MAX_PAYLOAD", Label("integration"), func() {
	// The rig's limit is 1 MiB, the broker's too: past it the broker would close the
	// connection with 1009 and every task on it would be lost.
	big := json.RawMessage(`[{"json":{"s":"` + strings.Repeat("x", 1<<20) + `"}}]`)
	// The size is of the runner:taskdone it would have been.
	tooLarge := fmt.Sprintf("The result is too large to send: %d bytes, more than the broker accepts (N8N_RUNNERS_MAX_PAYLOAD is 1048576 bytes)",
		len(`{"type":"runner:taskdone","taskId":"BIG","data":{"result":}}`)+len(big))

	It("fail the task whose result is too large, and only it", func(ctx SpecContext) {
		r := newRig(ctx)
		r.fake.ForTask("BIG", support.Behaviour{Result: big})
		r.fake.ForTask("OTHER", support.Behaviour{Block: true})
		p := r.connection()
		p.start("OTHER", pySettings())
		p.start("BIG", pySettings())
		Expect(p.terminal("BIG")).To(MatchAllKeys(Keys{
			"type": Equal(typeError), "taskId": Equal("BIG"),
			"error": Equal(map[string]any{"message": tooLarge, "description": ""}),
		}))
		r.fake.Release("OTHER")
		Expect(p.terminal("OTHER")).To(Equal(done("OTHER", support.FakeResult)))
		Expect(p.c.Closed()).NotTo(BeClosed())
	}, SpecTimeout(specTimeout))

	It("fail the task whose print is too large, at once, and only it", func(ctx SpecContext) {
		r := newRig(ctx)
		r.fake.ForTask("LOUD", support.Behaviour{Prints: [][]string{{strings.Repeat("y", 1<<20)}}, Block: true})
		r.fake.ForTask("OTHER", support.Behaviour{Block: true})
		p := r.connection()
		p.start("OTHER", pySettings())
		p.start("LOUD", pySettings())
		message, _ := p.terminal("LOUD")["error"].(map[string]any)["message"].(string)
		Expect(message).To(HavePrefix("A print() is too large to send: "))
		Expect(message).To(HaveSuffix("(N8N_RUNNERS_MAX_PAYLOAD is 1048576 bytes)"))
		Expect(r.fake.Cancelled("LOUD")).To(BeTrue(), "the task is stopped")
		r.fake.Release("OTHER")
		Expect(p.terminal("OTHER")).To(Equal(done("OTHER", support.FakeResult)))
		Expect(p.c.Closed()).NotTo(BeClosed())
	}, SpecTimeout(specTimeout))

	It("with continueOnFail, become the task's error item", func(ctx SpecContext) {
		r := newRig(ctx)
		r.fake.ForTask("BIG", support.Behaviour{Result: big})
		p := r.connection()
		p.start("BIG", pySettings("continueOnFail", true))
		Expect(p.terminal("BIG")).To(Equal(doneWithError("BIG", tooLarge)))
	}, SpecTimeout(specTimeout))
})
