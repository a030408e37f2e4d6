package tasks_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/specs/support"
	"github.com/runwire/runwire/tasks"
)

var _ = Describe("Offers", Label("integration"), func() {
	It("runner:info lists exactly the registered types", func(ctx SpecContext) {
		r := newRig(ctx)
		p := r.connection()
		Expect(r.mgr.TaskTypes()).To(Equal([]string{"python"}))
		Expect(p.Await("runner:info", isType("runner:info"))).To(Equal(map[string]any{
			"type": "runner:info", "name": "runwire", "types": []any{"python"},
		}))
	}, SpecTimeout(specTimeout))

	It("with several executors, lists them sorted and offers only those types, max in all", func(ctx SpecContext) {
		other := tasks.ExecutorFunc(func(context.Context, tasks.Task, tasks.Console) (json.RawMessage, error) {
			return nil, errors.New("not used")
		})
		r := newRig(ctx, withExecutor("javascript", other), withMax(4))
		p := r.connection()
		Expect(r.mgr.TaskTypes()).To(Equal([]string{"javascript", "python"}))
		Expect(p.Await("runner:info", isType("runner:info"))["types"]).To(Equal([]any{"javascript", "python"}))

		Eventually(ctx, func() int { return len(p.offerIDs()) }).Should(Equal(4))
		Consistently(ctx, func() int { return len(p.offerIDs()) }, quiet).Should(Equal(4), "open offers + tasks never exceed the limit, whatever the number of types")
		for _, m := range p.All() {
			if m["type"] == typeOffer {
				Expect(m["taskType"]).To(BeElementOf("javascript", "python"))
			}
		}
	}, SpecTimeout(specTimeout))

	It("offers carry a registered taskType, validFor of 5000 + 0..500 ms and unique offer ids", func(ctx SpecContext) {
		r := newRig(ctx, withMax(5))
		p := r.connection()
		Eventually(ctx, func() int { return len(p.offerIDs()) }).Should(Equal(5))

		validFor := map[float64]bool{}
		for range 5 {
			m := p.Await("an offer", isType(typeOffer))
			Expect(m).To(HaveLen(4), "type, offerId, taskType, validFor")
			Expect(m).To(HaveKeyWithValue("taskType", "python"))
			Expect(m).To(HaveKeyWithValue("offerId", Not(BeEmpty())))
			Expect(m["validFor"]).To(BeNumerically(">=", 5000))
			Expect(m["validFor"]).To(BeNumerically("<=", 5500))
			v, _ := m["validFor"].(float64)
			Expect(math.Trunc(v)).To(Equal(v), "a whole number of ms")
			validFor[v] = true
		}
		Expect(p.offerIDs()).To(HaveLen(5))
		Expect(uniq(p.offerIDs())).To(HaveLen(5), "offer ids are unique")
		Expect(len(validFor)).To(BeNumerically(">", 1), "validFor is jittered per offer")
	}, SpecTimeout(specTimeout))

	It("keeps an offer open validFor + 100 ms on its own clock, then replaces it with a new id", func(ctx SpecContext) {
		r := newRig(ctx, withMax(1), withOfferValidity(30*time.Millisecond, time.Millisecond))
		p := r.connection()

		first := p.Await("an offer", isType(typeOffer))
		firstAt := time.Now()
		Expect(first["validFor"]).To(BeElementOf(30.0, 31.0), "validity + jitter 0..1 ms")
		second := p.Await("a replacement offer", isType(typeOffer))
		Expect(time.Since(firstAt)).To(BeNumerically(">=", 100*time.Millisecond),
			"the runner keeps its offer validFor + the 100 ms latency buffer before it drops it")
		Expect(second["validFor"]).To(BeElementOf(30.0, 31.0))
		Expect(second["offerId"]).NotTo(Equal(first["offerId"]))

		Eventually(ctx, func() int { return len(p.offerIDs()) }).Should(BeNumerically(">=", 6))
		Expect(uniq(p.offerIDs())).To(HaveLen(len(p.offerIDs())), "offer ids are never reused")
		Expect(r.mgr.OpenOffers()).To(BeNumerically("<=", 1))
	}, SpecTimeout(specTimeout))

	It("never has more open offers + tasks than MaxConcurrency", func(ctx SpecContext) {
		r := newRig(ctx, withMax(3))
		r.fake.Default(support.Behaviour{Block: true})
		p := r.connection()

		Eventually(ctx, func() int { return len(p.offerIDs()) }).Should(Equal(3))
		Consistently(ctx, func() int { return len(p.offerIDs()) }, quiet).Should(Equal(3))
		Expect(r.mgr.OpenOffers()).To(Equal(3))
		Expect(r.mgr.Running()).To(BeZero())

		p.start("T1", pySettings())
		Consistently(ctx, func() int { return len(p.offerIDs()) - 1 }, quiet).Should(Equal(2),
			"offers sent − accepted = open offers = max − tasks")
		Consistently(ctx, func() int { return r.mgr.Running() + r.mgr.OpenOffers() }, quiet).Should(Equal(3))
		Expect(r.mgr.Running()).To(Equal(1))
		Expect(r.mgr.OpenOffers()).To(Equal(2))

		p.mustAccept("T2")
		p.mustAccept("T3")
		Consistently(ctx, func() int { return len(p.offerIDs()) }, quiet).Should(Equal(3), "no offer while every slot holds a task")
		Expect(r.mgr.Running()).To(Equal(3))
		Expect(r.mgr.OpenOffers()).To(BeZero())
	}, SpecTimeout(specTimeout))

	DescribeTable("refills a freed slot at once, not at the next pass (OfferInterval 10 s)",
		func(ctx SpecContext, free func(p *peer)) {
			r := newRig(ctx, withMax(2), withOfferInterval(10*time.Second), withSettingsTimeout(300*time.Millisecond))
			r.fake.ForTask("T1", support.Behaviour{Block: true})
			p := r.connection()
			Eventually(ctx, func() int { return len(p.offerIDs()) }).Should(Equal(2), "the first pass comes on registration")

			p.mustAccept("T1")
			Consistently(ctx, func() int { return len(p.offerIDs()) }, 100*time.Millisecond).Should(Equal(2), "no offer while the task holds its slot")
			free(p)
			Eventually(ctx, func() int { return len(p.offerIDs()) }).WithTimeout(time.Second).Should(Equal(3))
			Consistently(ctx, func() int { return len(p.offerIDs()) }, quiet).Should(Equal(3), "one slot freed, one offer")
			Expect(r.mgr.Running()).To(BeZero())
			Expect(r.mgr.OpenOffers()).To(Equal(2))
		},
		Entry("task done", func(p *peer) {
			p.settings("T1", pySettings())
			p.r.fake.Release("T1")
			p.terminal("T1")
		}, SpecTimeout(specTimeout)),
		Entry("task failed", func(p *peer) {
			p.r.fake.ForTask("T1", support.Behaviour{Err: errors.New("failed")})
			p.settings("T1", pySettings())
			Expect(p.terminal("T1")).To(HaveKeyWithValue("type", typeError))
		}, SpecTimeout(specTimeout)),
		Entry("running task cancelled", func(p *peer) {
			p.settings("T1", pySettings())
			Eventually(p.r.ctx, func() bool { return p.r.fake.Started("T1") }).Should(BeTrue())
			p.cancel("T1")
			p.terminal("T1")
		}, SpecTimeout(specTimeout)),
		Entry("task waiting for settings cancelled", func(p *peer) { p.cancel("T1") }, SpecTimeout(specTimeout)),
		Entry("task waiting for settings past SettingsTimeout", func(*peer) {}, SpecTimeout(specTimeout)),
	)
})

func uniq(ids []string) map[string]bool {
	set := map[string]bool{}
	for _, id := range ids {
		set[id] = true
	}
	return set
}
