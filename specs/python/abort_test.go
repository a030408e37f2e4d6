package python_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Task code that reports its process ids first (see hostPIDs), then runs until stopped.
const (
	// busy is one process spinning.
	busy = "import os\nprint(os.getpid(), " + whoami + ")\nwhile True:\n    pass"
	// busyWithChild also forks a child that sleeps forever.
	busyWithChild = "import os, time\nchild = os.fork()\nif child == 0:\n    while True:\n        time.sleep(1)\n" +
		"print(os.getpid(), child, " + whoami + ")\nwhile True:\n    pass"
	// busyWithStubbornChild forks a child that ignores SIGTERM (the disposition is inherited,
	// so the child never has a moment without it) and takes SIGTERM back for itself.
	busyWithStubbornChild = "import os, signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nchild = os.fork()\n" +
		"if child == 0:\n    while True:\n        time.sleep(1)\nsignal.signal(signal.SIGTERM, signal.SIG_DFL)\n" +
		"print(os.getpid(), child, " + whoami + ")\nwhile True:\n    pass"
)

var _ = Describe("Timeout and cancel", Label("integration"), func() {
	// stop runs code until the broker cancels it or the task timeout ends it, then checks
	// n8n's message and that every process of the task is gone.
	type stopper struct {
		timeout time.Duration // the task timeout
		stop    func(p *peer)
		within  time.Duration // from stop to the outcome: SIGTERM, and SIGKILL 1 s later
		want    func(taskID string) map[string]any
	}
	timeout := stopper{
		timeout: time.Second,
		stop:    func(*peer) {},
		within:  time.Second + 3*time.Second,
		want: func(id string) map[string]any {
			return failed(id, "Task execution timed out after 1 second", "")
		},
	}
	cancel := stopper{
		timeout: 30 * time.Second,
		stop:    func(p *peer) { p.cancel("T1") },
		within:  3 * time.Second,
		want:    func(id string) map[string]any { return failed(id, "Task was cancelled") },
	}

	DescribeTable("ends the task with n8n's message and leaves no process of it behind",
		func(ctx SpecContext, s stopper, code string) {
			r := newRig(ctx, stdlib("*"), withTaskTimeout(s.timeout))
			p := r.connection()
			// The timeout counts from the acceptance: a boot of over 1 s (a busy machine) would
			// use it up before the task's first print.
			Expect(r.py.Ready(ctx)).To(Succeed())
			p.start("T1", allItems(code, item(`{"n": 1}`)))
			params, _ := p.Await("the task's pids", isPrint("T1"))["params"].([]any)
			ps := hostPIDs(params)
			DeferCleanup(func() { killLeftovers(ps...) })
			for _, pid := range ps {
				Expect(alive(pid)()).To(Succeed(), "process %d runs", pid)
			}

			s.stop(p)
			Expect(p.terminalWithin("T1", s.within)).To(Equal(s.want("T1")))
			expectGone(ctx, ps...)
			p.healthy("T2")
		},
		Entry("timeout: a busy loop", timeout, busy, SpecTimeout(slowTimeout)),
		Entry("timeout: a busy loop with a forked child", timeout, busyWithChild, SpecTimeout(slowTimeout)),
		Entry("timeout: a forked child that ignores SIGTERM (SIGKILL after 1 s)", timeout, busyWithStubbornChild, SpecTimeout(slowTimeout)),
		Entry("cancel: a busy loop", cancel, busy, SpecTimeout(slowTimeout)),
		Entry("cancel: a busy loop with a forked child", cancel, busyWithChild, SpecTimeout(slowTimeout)),
		Entry("cancel: a forked child that ignores SIGTERM (SIGKILL after 1 s)", cancel, busyWithStubbornChild, SpecTimeout(slowTimeout)),
	)

	It("with continue-on-fail, reports the timeout as runner:taskdone [{json: {error: …}}]", func(ctx SpecContext) {
		p := newRig(ctx, withTaskTimeout(time.Second)).connection()
		Expect(p.run("T1", continueOnFail(allItems("while True:\n    pass"))).terminal).
			To(Equal(doneWithError("T1", "Task execution timed out after 1 second")))
	}, SpecTimeout(slowTimeout))

	It("leaves no process behind when a task ends normally: a child it forked does not outlive it", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*")).connection()
		g := newGate()
		code := "import os, time\nchild = os.fork()\nif child == 0:\n    while True:\n        time.sleep(1)\n" +
			"print(child, " + whoami + ")\n" + g.wait + "\nreturn [{\"json\": {\"ok\": True}}]"
		p.start("T1", allItems(code, g.item))
		params, _ := p.Await("the forked child's pid", isPrint("T1"))["params"].([]any)
		ps := hostPIDs(params)
		DeferCleanup(func() { killLeftovers(ps...) })
		g.open()

		Expect(p.terminal("T1")).To(Equal(done("T1", `[{"json":{"ok":true}}]`)))
		expectGone(ctx, ps...)
	}, SpecTimeout(slowTimeout))
})
