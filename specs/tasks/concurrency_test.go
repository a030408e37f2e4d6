package tasks_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/specs/support"
)

var _ = Describe("Concurrency", Label("integration"), func() {
	It("runs 30 tasks through 3 slots, never more than 3 at once", func(ctx SpecContext) {
		r := newRig(ctx, withMax(3))
		r.fake.Default(support.Behaviour{Block: true})
		p := r.connection()

		ids := taskIDs("P", 30)
		var running []string
		for _, id := range ids {
			p.start(id, pySettings())
			running = append(running, id)
			if len(running) == 3 {
				Expect(r.fake.Current()).To(Equal(3))
				// Try to sneak a fourth task in on a made-up offer while every slot is taken.
				sneak := "sneak-" + id
				Expect(p.acceptOffer(sneak, "made-up-"+id)).To(HaveKeyWithValue("type", typeRejected))
				r.fake.Release(running[0])
				Expect(p.terminal(running[0])).To(Equal(done(running[0], support.FakeResult)))
				running = running[1:]
			}
		}
		for _, id := range running {
			r.fake.Release(id)
			Expect(p.terminal(id)).To(Equal(done(id, support.FakeResult)))
		}
		Expect(r.fake.MaxConcurrent()).To(Equal(3), "the executor reached the limit and never passed it")
		Expect(r.fake.Calls()).To(HaveLen(30))
		for _, id := range ids {
			Expect(p.terminals(id)).To(Equal(1))
		}
		Eventually(ctx, r.mgr.Running).Should(BeZero())
	}, SpecTimeout(specTimeout))

	It("never runs more than the limit when the broker floods accepts for every offer it sees", func(ctx SpecContext) {
		r := newRig(ctx, withMax(2))
		r.fake.Default(support.Behaviour{Block: true})
		p := r.connection()
		Eventually(ctx, func() int { return len(p.offerIDs()) }).Should(Equal(2))

		// Every offer accepted three times over, each with settings at once.
		for i, offer := range p.offerIDs() {
			for j := range 3 {
				id := taskIDs("X", 6)[i*3+j]
				p.Send(map[string]any{"type": "broker:taskofferaccept", "taskId": id, "offerId": offer})
				p.settings(id, pySettings())
			}
		}
		Eventually(ctx, func() int { return p.Count(isType(typeAccepted)) + p.Count(isType(typeRejected)) }).Should(Equal(6))
		Eventually(ctx, r.fake.Current).Should(Equal(2))
		Consistently(ctx, r.fake.Current, quiet).Should(Equal(2))
		Expect(r.fake.MaxConcurrent()).To(Equal(2))
		Expect(p.Count(isType(typeAccepted))).To(Equal(2))
		Expect(r.fake.Calls()).To(HaveLen(2), "settings for rejected tasks are dropped")
	}, SpecTimeout(specTimeout))
})
