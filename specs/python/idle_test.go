package python_test

import (
	"runtime/metrics"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// forcedGCs is how many garbage collections this process has been made to run (runtime.GC,
// debug.FreeOSMemory): the executor's idle release is one.
func forcedGCs() uint64 {
	sample := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

var _ = Describe("Idle memory", Label("integration"), func() {
	const idle = 200 * time.Millisecond

	It("is returned to the operating system once no task has run for a while, and never while a task runs", func(ctx SpecContext) {
		before := forcedGCs()
		p := newRig(ctx, stdlib("os,time"), withIdleRelease(idle)).connection()
		Eventually(ctx, forcedGCs).Should(BeNumerically(">", before), "a release once the executor has booted and is idle")

		// T1 starts within the idle delay after T0 ends: T0's release must not come while T1 runs.
		Expect(resultOf(p.run("T0", allItems("return [{\"json\": {}}]")).terminal)).To(HaveLen(1))
		g := newGate()
		p.start("T1", allItems("import os, time\nprint(\"started\")\n"+g.wait+"\nreturn [{\"json\": {}}]", g.item))
		p.Await("T1 running", isPrint("T1"))
		during := forcedGCs()
		Consistently(ctx, forcedGCs).WithTimeout(3*idle).Should(Equal(during), "no release while T1 runs")

		g.open()
		Expect(resultOf(p.terminal("T1"))).To(Equal([]any{map[string]any{"json": map[string]any{}}}))
		Eventually(ctx, forcedGCs).Should(BeNumerically(">", during), "a release once T1 is done and the executor idle")
	}, SpecTimeout(specTimeout))
})
