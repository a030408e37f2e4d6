package tasks_test

import (
	"time"

	"github.com/coder/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/specs/support"
	"github.com/runwire/runwire/tasks"
)

var _ = Describe("Connection loss with tasks in flight", Label("integration"), func() {
	DescribeTable("cancels the tasks, frees the slots and starts afresh on the new connection",
		func(ctx SpecContext, end func(c *support.BrokerConn)) {
			r := newRig(ctx, withMax(3))
			r.fake.Default(support.Behaviour{Block: true})
			old := r.connection()
			old.start("T1", pySettings())
			old.start("T2", pySettings())
			old.mustAccept("T3") // waiting for settings
			oldOffers := uniq(old.offerIDs())

			end(old.c)
			Eventually(ctx, func() bool { return r.fake.Cancelled("T1") && r.fake.Cancelled("T2") }).WithTimeout(time.Second).Should(BeTrue(),
				"the broker has failed them: their executions are cancelled")
			Eventually(ctx, func() bool { return r.fake.Returned("T1") && r.fake.Returned("T2") }).Should(BeTrue())

			p := r.connection()
			Eventually(ctx, func() int { return len(p.offerIDs()) }).Should(Equal(3), "max offers: every slot is free")
			Consistently(ctx, func() int { return len(p.offerIDs()) }, quiet).Should(Equal(3))
			for _, id := range p.offerIDs() {
				Expect(oldOffers).NotTo(HaveKey(id), "offers are not carried over")
			}
			for _, id := range []string{"T1", "T2", "T3"} {
				Expect(p.countFor(id)).To(BeZero(), "nothing about %s on the new connection", id)
			}
			Expect(r.mgr.Running()).To(BeZero())
			Expect(r.mgr.OpenOffers()).To(Equal(3))
		},
		Entry("TCP dropped", func(c *support.BrokerConn) { c.Drop() }, SpecTimeout(specTimeout)),
		Entry("closed with 1001", func(c *support.BrokerConn) { c.Close(websocket.StatusGoingAway) }, SpecTimeout(specTimeout)),
		Entry("closed with 1000", func(c *support.BrokerConn) { c.Close(websocket.StatusNormalClosure) }, SpecTimeout(specTimeout)),
	)

	It("treats the old connection's offers and tasks as unknown on the new one", func(ctx SpecContext) {
		r := newRig(ctx, withMax(2))
		old := r.connection()
		Eventually(ctx, func() int { return len(old.offerIDs()) }).Should(Equal(2))
		old.mustAccept("T1")
		stale := old.offerIDs()[1]

		old.c.Drop()
		p := r.connection()
		Expect(p.acceptOffer("T2", stale)).To(Equal(rejected("T2", tasks.RejectOfferExpired)))
		p.settings("T1", pySettings())
		p.cancel("T1")
		Consistently(ctx, func() int { return p.countFor("T1") }, quiet).Should(BeZero())
		Expect(r.fake.Calls()).To(BeEmpty())

		p.start("T3", pySettings())
		Expect(p.exactlyOneTerminal("T3")).To(Equal(done("T3", support.FakeResult)))
	}, SpecTimeout(specTimeout))
})
