package tasks_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/specs/support"
	"github.com/runwire/runwire/tasks"
)

var _ = Describe("Cancel", Label("integration"), func() {
	It("aborts a running task: its ctx is cancelled and exactly one runner:taskerror says Task was cancelled", func(ctx SpecContext) {
		r := newRig(ctx, withMax(1))
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p := r.connection()
		p.start("T1", pySettings())

		p.cancel("T1")
		Eventually(ctx, func() bool { return r.fake.Cancelled("T1") }).Should(BeTrue(), "the executor's ctx is cancelled")
		Expect(p.exactlyOneTerminal("T1")).To(Equal(failed("T1", tasks.MessageCancelled)))
		Eventually(ctx, r.mgr.Running).Should(BeZero())
		Expect(p.accept("T2")).To(Equal(accepted("T2")), "the slot is freed")
	}, SpecTimeout(specTimeout))

	It("with continueOnFail, reports the cancel as runner:taskdone [{json: {error: Task was cancelled}}]", func(ctx SpecContext) {
		r := newRig(ctx)
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p := r.connection()
		p.start("T1", pySettings("continueOnFail", true))

		p.cancel("T1")
		Expect(p.exactlyOneTerminal("T1")).To(Equal(doneWithError("T1", tasks.MessageCancelled)))
		Expect(r.fake.Cancelled("T1")).To(BeTrue())
	}, SpecTimeout(specTimeout))

	It("drops a task waiting for settings without a message and refills its slot at once", func(ctx SpecContext) {
		r := newRig(ctx, withMax(1), withOfferInterval(10*time.Second))
		p := r.connection()
		p.mustAccept("T1")

		p.cancel("T1")
		Eventually(ctx, r.mgr.Running).Should(BeZero())
		Eventually(ctx, func() int { return len(p.offerIDs()) }).WithTimeout(time.Second).Should(Equal(2), "an offer pass at once")
		Consistently(ctx, func() int { return p.countFor("T1") }, quiet).Should(Equal(1), "nothing after runner:taskaccepted")

		p.settings("T1", pySettings())
		Consistently(ctx, func() int { return p.countFor("T1") }, quiet).Should(Equal(1), "its late settings are for an unknown task")
		Expect(r.fake.Calls()).To(BeEmpty())
	}, SpecTimeout(specTimeout))

	It("ignores a cancel for an unknown task", func(ctx SpecContext) {
		r := newRig(ctx, withMax(2))
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p := r.connection()
		p.start("T1", pySettings())
		p.mustAccept("T2")

		p.cancel("ghost")
		Consistently(ctx, func() int { return p.countFor("ghost") }, quiet).Should(BeZero())
		Expect(r.fake.Cancelled("T1")).To(BeFalse())
		Expect(r.mgr.Running()).To(Equal(2))
		Expect(p.terminals("T1")).To(BeZero())

		r.fake.Release("T1")
		Expect(p.exactlyOneTerminal("T1")).To(Equal(done("T1", support.FakeResult)))
		p.settings("T2", pySettings())
		Expect(p.exactlyOneTerminal("T2")).To(Equal(done("T2", support.FakeResult)))
	}, SpecTimeout(specTimeout))

	It("ignores a cancel for a task that has finished: no second outcome, no extra offer", func(ctx SpecContext) {
		r := newRig(ctx, withMax(1), withOfferInterval(10*time.Second))
		p := r.connection()
		p.start("T1", pySettings())
		p.terminal("T1")
		Eventually(ctx, func() int { return len(p.offerIDs()) }).Should(Equal(2))

		p.cancel("T1")
		Consistently(ctx, func() int { return p.countFor("T1") }, quiet).Should(Equal(2), "taskaccepted and taskdone only")
		Expect(p.offerIDs()).To(HaveLen(2), "the slot is not freed twice")
		Expect(r.mgr.OpenOffers()).To(Equal(1))
	}, SpecTimeout(specTimeout))
})

var _ = Describe("Task timeout", Label("integration"), func() {
	DescribeTable("aborts a task running past TaskTimeout with exactly one runner:taskerror, description \"\"",
		func(ctx SpecContext, timeout time.Duration, message string) {
			r := newRig(ctx, withTaskTimeout(timeout))
			r.fake.ForTask("T1", support.Behaviour{Block: true})
			p := r.connection()
			p.start("T1", pySettings())
			started := time.Now()

			Expect(p.exactlyOneTerminal("T1")).To(Equal(failed("T1", message, "")))
			Expect(time.Since(started)).To(BeNumerically(">=", timeout-20*time.Millisecond), "not before the timeout")
			Expect(r.fake.Cancelled("T1")).To(BeTrue(), "the executor's ctx is cancelled")
			Eventually(ctx, r.mgr.Running).Should(BeZero())
		},
		Entry("0.3 s", 300*time.Millisecond, "Task execution timed out after 0.3 seconds", SpecTimeout(specTimeout)),
		Entry("1 s: singular", time.Second, "Task execution timed out after 1 second", SpecTimeout(specTimeout)),
	)

	It("with continueOnFail, reports the timeout as runner:taskdone [{json: {error: …}}]", func(ctx SpecContext) {
		r := newRig(ctx, withTaskTimeout(300*time.Millisecond))
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p := r.connection()
		p.start("T1", pySettings("continueOnFail", true))
		Expect(p.exactlyOneTerminal("T1")).To(Equal(doneWithError("T1", "Task execution timed out after 0.3 seconds")))
	}, SpecTimeout(specTimeout))

	It("leaves a task that finishes in time alone", func(ctx SpecContext) {
		r := newRig(ctx, withTaskTimeout(300*time.Millisecond))
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p := r.connection()
		p.start("T1", pySettings())
		r.fake.Release("T1")

		Expect(p.terminal("T1")).To(Equal(done("T1", support.FakeResult)))
		Consistently(ctx, func() int { return p.terminals("T1") }, 500*time.Millisecond).Should(Equal(1), "no timeout after the result")
	}, SpecTimeout(specTimeout))

	It("counts from the settings, not from the accept", func(ctx SpecContext) {
		r := newRig(ctx, withTaskTimeout(300*time.Millisecond))
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p := r.connection()
		p.mustAccept("T1")
		Consistently(ctx, func() int { return p.countFor("T1") }, 400*time.Millisecond).Should(Equal(1), "no timeout while waiting for settings")

		p.settings("T1", pySettings())
		Eventually(ctx, func() bool { return r.fake.Started("T1") }).Should(BeTrue())
		r.fake.Release("T1")
		Expect(p.exactlyOneTerminal("T1")).To(Equal(done("T1", support.FakeResult)))
	}, SpecTimeout(specTimeout))
})
