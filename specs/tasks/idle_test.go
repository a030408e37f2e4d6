package tasks_test

import (
	"errors"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/specs/support"
)

// The idle timer (§3.11) with the Manager as the fsm's Handler: IdleTimeout 150 ms. OnIdle
// only records that it was called, so the connection stays up and each case can be watched.
const idleTimeout = 150 * time.Millisecond

var _ = Describe("Idle auto-shutdown", Label("integration"), func() {
	// notYet shows that OnIdle is not called within less than one IdleTimeout from now.
	notYet := func(r *rig) {
		GinkgoHelper()
		Consistently(r.ctx, r.idled, idleTimeout*2/3).ShouldNot(Receive(), "not before IdleTimeout")
	}
	// fires waits for OnIdle, well within two IdleTimeouts.
	fires := func(r *rig) {
		GinkgoHelper()
		Eventually(r.ctx, r.idled).WithTimeout(time.Second).Should(Receive(), "OnIdle is called")
	}
	// never shows that OnIdle is not called over several IdleTimeouts.
	never := func(r *rig, why string) {
		GinkgoHelper()
		Consistently(r.ctx, r.idled, 4*idleTimeout).ShouldNot(Receive(), why)
	}

	It("fires IdleTimeout after registration when no task comes", func(ctx SpecContext) {
		r := newRig(ctx, withIdleTimeout(idleTimeout))
		r.connection()
		notYet(r)
		fires(r)
	}, SpecTimeout(specTimeout))

	It("does not fire while a task waits for settings; its cancel re-arms it (n8n's Python runner stays up here)", func(ctx SpecContext) {
		r := newRig(ctx, withIdleTimeout(idleTimeout))
		p := r.connection()
		p.mustAccept("T1")
		never(r, "a task waiting for settings exists")

		p.cancel("T1")
		notYet(r)
		fires(r)
	}, SpecTimeout(specTimeout))

	It("does not fire while a task runs; fires IdleTimeout after it finishes, not before", func(ctx SpecContext) {
		r := newRig(ctx, withIdleTimeout(idleTimeout))
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p := r.connection()
		p.start("T1", pySettings())
		never(r, "a task is running")

		r.fake.Release("T1")
		p.terminal("T1")
		notYet(r)
		fires(r)
	}, SpecTimeout(specTimeout))

	It("fires IdleTimeout after the last of several tasks finishes", func(ctx SpecContext) {
		r := newRig(ctx, withIdleTimeout(idleTimeout))
		r.fake.Default(support.Behaviour{Block: true})
		p := r.connection()
		p.start("T1", pySettings())
		p.start("T2", pySettings())

		r.fake.Release("T1")
		p.terminal("T1")
		never(r, "T2 is still running")

		r.fake.Release("T2")
		p.terminal("T2")
		notYet(r)
		fires(r)
	}, SpecTimeout(specTimeout))

	It("is re-armed by a task that fails", func(ctx SpecContext) {
		r := newRig(ctx, withIdleTimeout(idleTimeout))
		r.fake.ForTask("T1", support.Behaviour{Block: true, Err: errors.New("failed")})
		p := r.connection()
		p.start("T1", pySettings())
		never(r, "a task is running")

		r.fake.Release("T1")
		Expect(p.terminal("T1")).To(HaveKeyWithValue("type", typeError))
		notYet(r)
		fires(r)
	}, SpecTimeout(specTimeout))

	It("is re-armed by a cancelled running task", func(ctx SpecContext) {
		r := newRig(ctx, withIdleTimeout(idleTimeout))
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p := r.connection()
		p.start("T1", pySettings())
		never(r, "a task is running")

		p.cancel("T1")
		p.terminal("T1")
		notYet(r)
		fires(r)
	}, SpecTimeout(specTimeout))

	It("is re-armed by a task dropped for want of settings", func(ctx SpecContext) {
		r := newRig(ctx, withIdleTimeout(idleTimeout), withSettingsTimeout(4*idleTimeout))
		p := r.connection()
		p.mustAccept("T1")
		Consistently(ctx, r.idled, 3*idleTimeout).ShouldNot(Receive(), "a task waiting for settings exists")

		Eventually(ctx, r.mgr.Running).Should(BeZero())
		notYet(r)
		fires(r)
	}, SpecTimeout(specTimeout))
})
