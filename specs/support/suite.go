package support

import (
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive,staticcheck // the DSL reads best dot-imported
	. "github.com/onsi/gomega"    //nolint:revive,staticcheck // the DSL reads best dot-imported
	"github.com/onsi/gomega/gleak"
)

// LeakTimeout bounds the goroutine-leak check, so that a leak fails with the list of leaked
// goroutines rather than as a node timeout.
const LeakTimeout = 3 * time.Second

// ConfigureSuite gives a suite the house defaults: Eventually waits up to 5 s polling every
// 5 ms, and every spec ends with a goroutine-leak check. The check is a cleanup registered
// before the spec's own, so it runs after them, once servers and machines are shut down.
// Call it at the top level of a suite file: var _ = support.ConfigureSuite().
func ConfigureSuite() bool {
	BeforeSuite(func() {
		SetDefaultEventuallyTimeout(5 * time.Second)
		SetDefaultEventuallyPollingInterval(5 * time.Millisecond)
		gleak.IgnoreGinkgoParallelClient()
	})
	BeforeEach(func() {
		snapshot := gleak.Goroutines()
		DeferCleanup(func(ctx SpecContext) {
			Eventually(ctx, gleak.Goroutines).WithTimeout(LeakTimeout).ShouldNot(gleak.HaveLeaked(snapshot))
		}, NodeTimeout(2*LeakTimeout))
	})
	return true
}
