package tasks_test

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/specs/support"
	"github.com/runwire/runwire/tasks"
)

var _ = Describe("Accept and reject", Label("integration"), func() {
	It("accepts an open offer with runner:taskaccepted {taskId}", func(ctx SpecContext) {
		r := newRig(ctx, withMax(3))
		p := r.connection()
		Eventually(ctx, func() int { return len(p.offerIDs()) }).Should(Equal(3))

		Expect(p.accept("T1")).To(Equal(accepted("T1")))
		Expect(r.mgr.Running()).To(Equal(1))
		Expect(r.mgr.OpenOffers()).To(Equal(2))
	}, SpecTimeout(specTimeout))

	It("rejects a flood of accepts for unknown and stale offers with the expired reason, each at once", func(ctx SpecContext) {
		r := newRig(ctx, withMax(2))
		p := r.connection()
		used := p.offer()
		Expect(p.acceptOffer("T0", used)).To(Equal(accepted("T0")))

		var ids []string
		start := time.Now()
		for i := range 100 {
			id := fmt.Sprintf("F%03d", i)
			ids = append(ids, id)
			offer := fmt.Sprintf("unknown-offer-%d", i)
			if i%4 == 0 {
				offer = used // already accepted: stale
			}
			p.Send(map[string]any{"type": "broker:taskofferaccept", "taskId": id, "offerId": offer})
		}
		for _, id := range ids {
			Expect(p.Await("the answer for "+id, isAnswer(id))).To(Equal(rejected(id, tasks.RejectOfferExpired)))
		}
		Expect(time.Since(start)).To(BeNumerically("<", 2*time.Second), "the broker gives up on an answer after 2 s")
		for _, id := range ids {
			Expect(p.countFor(id)).To(Equal(1), "one answer per accept")
		}
		Expect(r.mgr.Running()).To(Equal(1), "only T0 exists")
		Expect(r.mgr.OpenOffers()).To(Equal(1), "rejections do not use up offers")

		Expect(p.accept("T1")).To(Equal(accepted("T1")), "the connection still serves real offers")
	}, SpecTimeout(specTimeout))

	It("accepts each offer once: further accepts of it are rejected as expired", func(ctx SpecContext) {
		r := newRig(ctx, withMax(2))
		p := r.connection()
		Eventually(ctx, func() int { return len(p.offerIDs()) }).Should(Equal(2))
		offers := p.offerIDs()

		for round := range 3 {
			for i, offer := range offers {
				p.Send(map[string]any{"type": "broker:taskofferaccept", "taskId": fmt.Sprintf("D%d-%d", round, i), "offerId": offer})
			}
		}
		for round := range 3 {
			for i := range offers {
				id := fmt.Sprintf("D%d-%d", round, i)
				if round == 0 {
					Expect(p.Await("the answer for "+id, isAnswer(id))).To(Equal(accepted(id)))
				} else {
					Expect(p.Await("the answer for "+id, isAnswer(id))).To(Equal(rejected(id, tasks.RejectOfferExpired)))
				}
			}
		}
		Expect(r.mgr.Running()).To(Equal(2))
		Expect(p.Count(isType(typeAccepted))).To(Equal(2))
	}, SpecTimeout(specTimeout))

	It("rejects an accept for an offer past its local expiry", func(ctx SpecContext) {
		r := newRig(ctx, withMax(1), withOfferValidity(30*time.Millisecond, time.Millisecond))
		p := r.connection()
		stale := p.offer()
		p.offer() // with max 1, a second offer means the first has expired on the runner's clock

		Expect(p.acceptOffer("T1", stale)).To(Equal(rejected("T1", tasks.RejectOfferExpired)))
		Expect(r.mgr.Running()).To(BeZero())
		Expect(r.fake.Calls()).To(BeEmpty())
	}, SpecTimeout(specTimeout))

	It("checks the offer before the capacity (§3.4): at capacity an unknown offer is still expired", func(ctx SpecContext) {
		r := newRig(ctx, withMax(1))
		r.fake.Default(support.Behaviour{Block: true})
		p := r.connection()
		p.start("T1", pySettings())

		Expect(p.acceptOffer("T2", "unknown-offer")).To(Equal(rejected("T2", tasks.RejectOfferExpired)))
		Expect(r.mgr.Running()).To(Equal(1))
	}, SpecTimeout(specTimeout))
})
