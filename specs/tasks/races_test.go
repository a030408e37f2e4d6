package tasks_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/specs/support"
	"github.com/runwire/runwire/tasks"
)

var _ = Describe("Races: exactly one outcome per task", Label("integration"), func() {
	It("a cancel sent the moment the task finishes, 50 times over", func(ctx SpecContext) {
		r := newRig(ctx, withMax(5))
		r.fake.Default(support.Behaviour{Block: true})
		p := r.connection()

		ids := taskIDs("R", 50)
		for batch := 0; batch < len(ids); batch += 5 {
			group := ids[batch : batch+5]
			for _, id := range group {
				p.start(id, pySettings())
			}
			for _, id := range group {
				r.fake.Release(id)
				p.cancel(id)
			}
			for _, id := range group {
				Expect(p.terminal(id)).To(SatisfyAny(
					Equal(done(id, support.FakeResult)),
					Equal(failed(id, tasks.MessageCancelled)),
				))
			}
		}
		Consistently(ctx, func() []int {
			counts := make([]int, len(ids))
			for i, id := range ids {
				counts[i] = p.terminals(id)
			}
			return counts
		}, quiet).Should(HaveEach(1), func() string { return p.Dump() })
		Eventually(ctx, r.mgr.Running).Should(BeZero())
		Eventually(ctx, r.mgr.OpenOffers).Should(Equal(5), "every slot comes back")
		Consistently(ctx, r.mgr.OpenOffers, quiet).Should(Equal(5), "and only once")
	}, SpecTimeout(20*time.Second))

	It("an executor that returns its result just as it is cancelled: reported as cancelled", func(ctx SpecContext) {
		r := newRig(ctx)
		r.fake.ForTask("T1", support.Behaviour{Block: true, ReturnOnCancel: true})
		p := r.connection()
		p.start("T1", pySettings())

		p.cancel("T1")
		Expect(p.exactlyOneTerminal("T1")).To(Equal(failed("T1", tasks.MessageCancelled)))
	}, SpecTimeout(specTimeout))

	It("an executor that returns its result just as it times out: reported as timed out", func(ctx SpecContext) {
		r := newRig(ctx, withTaskTimeout(300*time.Millisecond))
		r.fake.ForTask("T1", support.Behaviour{Block: true, ReturnOnCancel: true})
		p := r.connection()
		p.start("T1", pySettings())

		Expect(p.exactlyOneTerminal("T1")).To(Equal(failed("T1", "Task execution timed out after 0.3 seconds", "")))
	}, SpecTimeout(specTimeout))

	It("the timeout firing while a cancelled task is still stopping: reported as cancelled, once", func(ctx SpecContext) {
		r := newRig(ctx, withTaskTimeout(300*time.Millisecond))
		r.fake.ForTask("T1", support.Behaviour{Block: true, Linger: true})
		p := r.connection()
		p.start("T1", pySettings())

		p.cancel("T1")
		Eventually(ctx, func() bool { return r.fake.Cancelled("T1") }).Should(BeTrue())
		Consistently(ctx, func() int { return p.terminals("T1") }, 500*time.Millisecond).Should(BeNumerically("<=", 1),
			"the timeout passes while the executor is still stopping")
		r.fake.Release("T1")
		Expect(p.exactlyOneTerminal("T1")).To(Equal(failed("T1", tasks.MessageCancelled)))
		Eventually(ctx, r.mgr.Running).Should(BeZero())
	}, SpecTimeout(specTimeout))

	It("a cancel arriving while a timed-out task is still stopping: reported as timed out, once", func(ctx SpecContext) {
		r := newRig(ctx, withTaskTimeout(200*time.Millisecond))
		r.fake.ForTask("T1", support.Behaviour{Block: true, Linger: true})
		p := r.connection()
		p.start("T1", pySettings())

		Eventually(ctx, func() bool { return r.fake.Cancelled("T1") }).Should(BeTrue(), "the timeout fires")
		p.cancel("T1")
		Consistently(ctx, func() int { return p.terminals("T1") }, 100*time.Millisecond).Should(BeNumerically("<=", 1))
		r.fake.Release("T1")
		Expect(p.exactlyOneTerminal("T1")).To(Equal(failed("T1", "Task execution timed out after 0.2 seconds", "")))
		Eventually(ctx, r.mgr.Running).Should(BeZero())
	}, SpecTimeout(specTimeout))

	It("a cancel sent twice to a running task", func(ctx SpecContext) {
		r := newRig(ctx, withMax(1), withOfferInterval(10*time.Second))
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p := r.connection()
		p.start("T1", pySettings())

		p.cancel("T1")
		p.cancel("T1")
		Expect(p.exactlyOneTerminal("T1")).To(Equal(failed("T1", tasks.MessageCancelled)))
		Eventually(ctx, func() int { return len(p.offerIDs()) }).Should(Equal(2))
		Consistently(ctx, func() int { return len(p.offerIDs()) }, quiet).Should(Equal(2), "the slot is freed once")
	}, SpecTimeout(specTimeout))

	It("a cancel sent twice to a task waiting for settings: nothing sent, slot freed once", func(ctx SpecContext) {
		r := newRig(ctx, withMax(1), withOfferInterval(10*time.Second))
		p := r.connection()
		p.mustAccept("T1")

		p.cancel("T1")
		p.cancel("T1")
		Eventually(ctx, func() int { return len(p.offerIDs()) }).Should(Equal(2))
		Consistently(ctx, func() int { return len(p.offerIDs()) }, quiet).Should(Equal(2), "the slot is freed once")
		Expect(p.countFor("T1")).To(Equal(1), "only runner:taskaccepted")
		Expect(r.mgr.Running()).To(BeZero())
		Expect(r.mgr.OpenOffers()).To(Equal(1))
	}, SpecTimeout(specTimeout))
})
