package tasks_test

import (
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/specs/support"
)

var _ = Describe("Settings", Label("integration"), func() {
	It("hands the task's id, type and settings, exactly as sent, to the executor of its type", func(ctx SpecContext) {
		r := newRig(ctx)
		p := r.connection()
		settings := pySettings("continueOnFail", false, "nested", map[string]any{"unicode": "ünï ✓", "list": []any{1.5, nil, true}})
		p.start("T1", settings)
		p.terminal("T1")

		calls := r.fake.Calls()
		Expect(calls).To(HaveLen(1))
		Expect(calls[0].ID).To(Equal("T1"))
		Expect(calls[0].Type).To(Equal("python"))
		sent, err := json.Marshal(settings)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(calls[0].Settings)).To(MatchJSON(sent))
	}, SpecTimeout(specTimeout))

	It("drops settings for an unknown task: nothing sent, nothing run, connection kept", func(ctx SpecContext) {
		r := newRig(ctx)
		p := r.connection()
		p.settings("ghost", pySettings())
		Consistently(ctx, func() int { return p.countFor("ghost") }, quiet).Should(BeZero())
		Expect(r.fake.CallsFor("ghost")).To(BeZero())
		Expect(r.mgr.Running()).To(BeZero())

		p.start("T1", pySettings())
		Expect(p.terminal("T1")).To(Equal(done("T1", support.FakeResult)))
	}, SpecTimeout(specTimeout))

	It("drops settings for a task that is already running: it runs once, with its first settings", func(ctx SpecContext) {
		r := newRig(ctx)
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p := r.connection()
		p.start("T1", pySettings("fake", "first"))

		p.settings("T1", pySettings("fake", "second"))
		Consistently(ctx, func() int { return r.fake.CallsFor("T1") }, quiet).Should(Equal(1))
		Expect(p.countFor("T1")).To(Equal(1), "only runner:taskaccepted so far")
		Expect(string(r.fake.Calls()[0].Settings)).To(ContainSubstring(`"first"`))

		r.fake.Release("T1")
		Expect(p.exactlyOneTerminal("T1")).To(Equal(done("T1", support.FakeResult)))
	}, SpecTimeout(specTimeout))

	It("drops settings for a task that has finished", func(ctx SpecContext) {
		r := newRig(ctx)
		p := r.connection()
		p.start("T1", pySettings())
		p.terminal("T1")

		p.settings("T1", pySettings())
		Consistently(ctx, func() int { return p.countFor("T1") }, quiet).Should(Equal(2), "taskaccepted and taskdone only")
		Expect(r.fake.CallsFor("T1")).To(Equal(1))
	}, SpecTimeout(specTimeout))

	It("drops a task left waiting for settings past SettingsTimeout, silently, and refills its slot at once", func(ctx SpecContext) {
		r := newRig(ctx, withMax(1), withOfferInterval(10*time.Second), withSettingsTimeout(200*time.Millisecond))
		p := r.connection()
		p.mustAccept("T1")
		Expect(r.mgr.Running()).To(Equal(1))
		Consistently(ctx, r.mgr.Running, 100*time.Millisecond).Should(Equal(1), "not before SettingsTimeout")

		Eventually(ctx, r.mgr.Running).Should(BeZero())
		Eventually(ctx, func() int { return len(p.offerIDs()) }).WithTimeout(time.Second).Should(Equal(2), "the freed slot is offered again at once")
		Consistently(ctx, func() int { return len(p.offerIDs()) }, quiet).Should(Equal(2))
		Expect(p.countFor("T1")).To(Equal(1), "only runner:taskaccepted: the broker has already given up on it")

		p.settings("T1", pySettings())
		Consistently(ctx, func() int { return p.countFor("T1") }, quiet).Should(Equal(1), "late settings are for an unknown task")
		Expect(r.fake.Calls()).To(BeEmpty())
		Expect(p.accept("T2")).To(Equal(accepted("T2")), "the slot is usable")
	}, SpecTimeout(specTimeout))

	It("stops counting SettingsTimeout once the settings have come", func(ctx SpecContext) {
		r := newRig(ctx, withSettingsTimeout(100*time.Millisecond))
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p := r.connection()
		p.start("T1", pySettings())

		Consistently(ctx, func() int { return p.countFor("T1") }, quiet).Should(Equal(1))
		Expect(r.fake.Cancelled("T1")).To(BeFalse())
		Expect(r.mgr.Running()).To(Equal(1))
		r.fake.Release("T1")
		Expect(p.exactlyOneTerminal("T1")).To(Equal(done("T1", support.FakeResult)))
	}, SpecTimeout(specTimeout))

	DescribeTable("ends malformed settings in runner:taskerror naming the field, also with continueOnFail",
		func(ctx SpecContext, continueOnFail bool) {
			r := newRig(ctx, withMax(1))
			r.fake.Require("code", "nodeMode", "items")
			p := r.connection()
			settings := pySettings("continueOnFail", continueOnFail)
			delete(settings, "code")
			p.start("T1", settings)

			Expect(p.exactlyOneTerminal("T1")).To(Equal(failed("T1", "Invalid task settings: code is missing")))
			Eventually(ctx, r.mgr.Running).Should(BeZero())
			Expect(p.accept("T2")).To(Equal(accepted("T2")), "the slot is freed")
		},
		Entry("continueOnFail false", false, SpecTimeout(specTimeout)),
		Entry("continueOnFail true", true, SpecTimeout(specTimeout)),
	)
})
