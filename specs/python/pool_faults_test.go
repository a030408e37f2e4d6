package python_test

import (
	"fmt"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
)

// faultPlan answers python.Options.ForkFaultForSpecs from a list: one fault per fork asked
// for, then "" (a normal fork) once the list is used up. It counts the forks asked for.
type faultPlan struct {
	faults []string
	asked  atomic.Int64
}

func (f *faultPlan) next() string {
	n := int(f.asked.Add(1)) - 1
	if n < len(f.faults) {
		return f.faults[n]
	}
	return ""
}

var _ = Describe("The pool keeper", Label("integration"), func() {
	It("refills the pool after failed forks: the first task waits for a child and no task fails", func(ctx SpecContext) {
		plan := &faultPlan{faults: []string{"fail", "fail", "fail", "fail"}}
		log := gbytes.NewBuffer()
		p := newRig(ctx, withForkFaults(plan.next), withLog(log)).connection()
		// Every fork of the first fill fails, and the retries after them too: the task waits.
		for i := range 10 {
			p.runsLate(fmt.Sprintf("T%d", i))
		}
		Expect(log).To(gbytes.Say(`The Python zygote could not fork a child: \[Errno 11\] Resource temporarily unavailable \(injected by a spec\)`))
		Expect(plan.asked.Load()).To(BeNumerically(">", len(plan.faults)), "forks after the failed ones")
		z := theZygote(ctx)
		Eventually(ctx, func() []int { return childrenOf(z) }).Should(HaveLen(2), "the pool is back at RUNWIRE_PYTHON_PREFORK=2")
	}, SpecTimeout(slowTimeout))

	It("refills the pool after children that die before their hello: no task fails", func(ctx SpecContext) {
		plan := &faultPlan{faults: []string{"nohello", "nohello", "nohello", "nohello", "nohello"}}
		log := gbytes.NewBuffer()
		p := newRig(ctx, withForkFaults(plan.next), withLog(log)).connection()
		for i := range 10 {
			p.runsLate(fmt.Sprintf("T%d", i))
		}
		Expect(log).To(gbytes.Say("A Python child died before its hello"))
		Expect(plan.asked.Load()).To(BeNumerically(">", len(plan.faults)), "forks after the lost ones")
		z := theZygote(ctx)
		Eventually(ctx, func() []int { return childrenOf(z) }).Should(HaveLen(2), "the pool is back at RUNWIRE_PYTHON_PREFORK=2")
	}, SpecTimeout(slowTimeout))

	It("keeps the pool at its size through a mix of losses while tasks run", func(ctx SpecContext) {
		plan := &faultPlan{faults: []string{"", "fail", "nohello", "", "nohello", "fail", "", "nohello", "fail", "nohello"}}
		p := newRig(ctx, withForkFaults(plan.next)).connection()
		for i := range 20 {
			p.runsLate(fmt.Sprintf("T%d", i))
		}
		Expect(plan.asked.Load()).To(BeNumerically(">", len(plan.faults)), "every fault was injected")
		z := theZygote(ctx)
		Eventually(ctx, func() []int { return childrenOf(z) }).Should(HaveLen(2), "the pool is back at RUNWIRE_PYTHON_PREFORK=2")
	}, SpecTimeout(slowTimeout))
})
