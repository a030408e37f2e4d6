package tasks_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/specs/support"
	"github.com/runwire/runwire/tasks"
)

var _ = Describe("Drain", Label("integration"), func() {
	var (
		r *rig
		p *peer
	)
	// drained starts max 3 with T1 running and two offers open, then sends broker:drain.
	drained := func(ctx SpecContext) (open []string) {
		r = newRig(ctx, withMax(3))
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p = r.connection()
		Eventually(ctx, func() int { return len(p.offerIDs()) }).Should(Equal(3))
		p.start("T1", pySettings())
		open = p.offerIDs()[1:]
		p.Send(map[string]any{"type": "broker:drain"})
		return open
	}

	It("stops offering and forgets the open offers, even when a slot frees", func(ctx SpecContext) {
		drained(ctx)
		Eventually(ctx, r.mgr.OpenOffers).Should(BeZero())
		Consistently(ctx, func() int { return len(p.offerIDs()) }, quiet).Should(Equal(3), "no offer after broker:drain")

		r.fake.Release("T1")
		p.terminal("T1")
		Consistently(ctx, func() int { return len(p.offerIDs()) }, quiet).Should(Equal(3), "a freed slot is not offered")
		Expect(r.mgr.OpenOffers()).To(BeZero())
	}, SpecTimeout(specTimeout))

	It("rejects accepts of offers made before the drain, and any other, with Runner is shutting down", func(ctx SpecContext) {
		open := drained(ctx)
		Eventually(ctx, r.mgr.OpenOffers).Should(BeZero())
		Expect(p.acceptOffer("T2", open[0])).To(Equal(rejected("T2", tasks.RejectShuttingDown)))
		Expect(p.acceptOffer("T3", open[1])).To(Equal(rejected("T3", tasks.RejectShuttingDown)))
		Expect(p.acceptOffer("T4", "unknown-offer")).To(Equal(rejected("T4", tasks.RejectShuttingDown)))
		Expect(r.mgr.Running()).To(Equal(1))
	}, SpecTimeout(specTimeout))

	It("lets a running task finish and report", func(ctx SpecContext) {
		drained(ctx)
		Consistently(ctx, func() int { return p.terminals("T1") }, quiet).Should(BeZero(), "the drain does not abort it")
		Expect(r.fake.Cancelled("T1")).To(BeFalse())

		r.fake.Release("T1")
		Expect(p.exactlyOneTerminal("T1")).To(Equal(done("T1", support.FakeResult)))
		Eventually(ctx, r.mgr.Running).Should(BeZero())
	}, SpecTimeout(specTimeout))

	It("runs a task accepted before the drain when its settings come after it", func(ctx SpecContext) {
		r = newRig(ctx, withMax(2))
		p = r.connection()
		p.mustAccept("T1")
		p.Send(map[string]any{"type": "broker:drain"})
		Eventually(ctx, r.mgr.OpenOffers).Should(BeZero())

		p.settings("T1", pySettings())
		Expect(p.exactlyOneTerminal("T1")).To(Equal(done("T1", support.FakeResult)))
	}, SpecTimeout(specTimeout))
})
