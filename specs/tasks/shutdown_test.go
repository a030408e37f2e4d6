package tasks_test

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/specs/support"
	"github.com/runwire/runwire/tasks"
)

// shutdownResult is what a Shutdown call in the background returned, and which executions
// had returned by then.
type shutdownResult struct {
	cancelled int
	returned  map[string]bool
}

// shutdown calls Manager.Shutdown in the background with a context that ends after grace.
func (r *rig) shutdown(grace time.Duration, ids ...string) <-chan shutdownResult {
	out := make(chan shutdownResult, 1)
	ctx, cancel := context.WithTimeout(r.ctx, grace)
	go func() {
		defer cancel()
		n := r.mgr.Shutdown(ctx)
		returned := map[string]bool{}
		for _, id := range ids {
			returned[id] = r.fake.Returned(id)
		}
		out <- shutdownResult{cancelled: n, returned: returned}
	}()
	return out
}

// shuttingDown waits until accepts are refused as shutting down, probing with made-up offers.
func (p *peer) shuttingDown() {
	GinkgoHelper()
	n := 0
	Eventually(p.r.ctx, func() any {
		n++
		return p.acceptOffer(fmt.Sprintf("probe-%d", n), "made-up-offer")["reason"]
	}).Should(Equal(tasks.RejectShuttingDown))
}

var _ = Describe("Graceful shutdown", Label("integration"), func() {
	It("returns 0 at once with no task", func(ctx SpecContext) {
		r := newRig(ctx)
		r.connection()
		var res shutdownResult
		Eventually(ctx, r.shutdown(5*time.Second)).WithTimeout(time.Second).Should(Receive(&res))
		Expect(res.cancelled).To(BeZero())
	}, SpecTimeout(specTimeout))

	It("waits for a task's settings no longer than the broker's own 2 s window", func(ctx SpecContext) {
		r := newRig(ctx) // SettingsTimeout 30 s: only the broker's window can end the wait
		p := r.connection()
		p.mustAccept("T1")
		res := r.shutdown(20 * time.Second)
		var got shutdownResult
		Consistently(ctx, res, time.Second).ShouldNot(Receive(), "settings may still come within the window")
		Eventually(ctx, res).WithTimeout(3 * time.Second).Should(Receive(&got))
		Expect(got.cancelled).To(BeZero(), "dropped for want of settings, not cut off")
		Expect(r.mgr.Running()).To(BeZero())
	}, SpecTimeout(specTimeout))

	It("stops offering and rejects accepts, even of offers still open, while tasks finish", func(ctx SpecContext) {
		r := newRig(ctx, withMax(2))
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p := r.connection()
		Eventually(ctx, func() int { return len(p.offerIDs()) }).Should(Equal(2))
		p.start("T1", pySettings())
		open := p.offerIDs()[1]

		res := r.shutdown(5*time.Second, "T1")
		p.shuttingDown()
		Expect(p.acceptOffer("T2", open)).To(Equal(rejected("T2", tasks.RejectShuttingDown)))
		Consistently(ctx, func() int { return len(p.offerIDs()) }, quiet).Should(Equal(2), "no new offers")
		Expect(res).NotTo(Receive(), "Shutdown waits for T1")
		Expect(r.fake.Cancelled("T1")).To(BeFalse())

		r.fake.Release("T1")
		Expect(p.exactlyOneTerminal("T1")).To(Equal(done("T1", support.FakeResult)))
		Consistently(ctx, func() int { return len(p.offerIDs()) }, quiet).Should(Equal(2), "the freed slot is not offered")
	}, SpecTimeout(specTimeout))

	It("sends the result of a task that finishes in time and returns 0", func(ctx SpecContext) {
		r := newRig(ctx)
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p := r.connection()
		p.start("T1", pySettings())

		res := r.shutdown(5*time.Second, "T1")
		p.shuttingDown()
		Consistently(ctx, res, 100*time.Millisecond).ShouldNot(Receive())
		r.fake.Release("T1")
		var got shutdownResult
		Eventually(ctx, res).Should(Receive(&got))
		Expect(got.cancelled).To(BeZero())
		Expect(p.exactlyOneTerminal("T1")).To(Equal(done("T1", support.FakeResult)))
	}, SpecTimeout(specTimeout))

	It("cancels a task still running when its ctx ends, reports Task was cancelled, and returns 1", func(ctx SpecContext) {
		r := newRig(ctx)
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p := r.connection()
		p.start("T1", pySettings())

		res := r.shutdown(300*time.Millisecond, "T1")
		Consistently(ctx, res, 200*time.Millisecond).ShouldNot(Receive(), "it waits for the task first")
		Expect(r.fake.Cancelled("T1")).To(BeFalse())
		var got shutdownResult
		Eventually(ctx, res).Should(Receive(&got))
		Expect(got.cancelled).To(Equal(1))
		Expect(got.returned).To(HaveKeyWithValue("T1", true), "Shutdown returns once the cancelled task has ended")
		Expect(r.fake.Cancelled("T1")).To(BeTrue())
		Expect(p.exactlyOneTerminal("T1")).To(Equal(failed("T1", tasks.MessageCancelled)))
	}, SpecTimeout(specTimeout))

	It("returns how many tasks it cancelled: the ones still running, not the ones that finished", func(ctx SpecContext) {
		r := newRig(ctx, withMax(3))
		r.fake.Default(support.Behaviour{Block: true})
		p := r.connection()
		for _, id := range []string{"T1", "T2", "T3"} {
			p.start(id, pySettings())
		}

		res := r.shutdown(400*time.Millisecond, "T1", "T2", "T3")
		p.shuttingDown()
		r.fake.Release("T1")
		Expect(p.terminal("T1")).To(Equal(done("T1", support.FakeResult)))
		var got shutdownResult
		Eventually(ctx, res).Should(Receive(&got))
		Expect(got.cancelled).To(Equal(2))
		Expect(got.returned).To(Equal(map[string]bool{"T1": true, "T2": true, "T3": true}))
		Expect(p.exactlyOneTerminal("T2")).To(Equal(failed("T2", tasks.MessageCancelled)))
		Expect(p.exactlyOneTerminal("T3")).To(Equal(failed("T3", tasks.MessageCancelled)))
		Expect(p.terminals("T1")).To(Equal(1))
	}, SpecTimeout(specTimeout))
})

var _ = Describe("Graceful shutdown, then stop (as runwire's main does)", Label("integration"), func() {
	// Shutdown returns once every task has reported, so stopping the machine right after it
	// (closing the connection with 1001) must not lose an outcome.
	DescribeTable("every outcome reaches the broker before the connection closes",
		func(ctx SpecContext, grace time.Duration, release bool, want func(id string) map[string]any) {
			r := newRig(ctx, withMax(5))
			r.fake.Default(support.Behaviour{Block: true})
			p := r.connection()
			ids := taskIDs("S", 5)
			for _, id := range ids {
				p.start(id, pySettings())
			}

			stopped := make(chan int, 1)
			sctx, cancel := context.WithTimeout(ctx, grace)
			DeferCleanup(cancel)
			go func() {
				n := r.mgr.Shutdown(sctx)
				r.m.Stop()
				stopped <- n
			}()
			if release {
				p.shuttingDown()
				for _, id := range ids {
					r.fake.Release(id)
				}
			}
			Eventually(ctx, stopped).Should(Receive())
			Eventually(ctx, p.c.Closed()).Should(BeClosed())
			for _, id := range ids {
				Expect(p.terminals(id)).To(Equal(1), func() string { return id + " reported before the close; " + p.Dump() })
				Expect(p.terminal(id)).To(Equal(want(id)))
			}
		},
		Entry("tasks that finish within the grace period", 5*time.Second, true,
			func(id string) map[string]any { return done(id, support.FakeResult) },
			MustPassRepeatedly(20), SpecTimeout(specTimeout)),
		Entry("tasks cancelled when the grace period ends", 100*time.Millisecond, false,
			func(id string) map[string]any { return failed(id, tasks.MessageCancelled) },
			MustPassRepeatedly(20), SpecTimeout(specTimeout)),
	)
})
