package logging_test

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gleak"
)

func TestLogging(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Logging Suite")
}

// leakTimeout bounds the leak check, so that a leak fails with the list of
// leaked goroutines rather than as a node timeout.
const leakTimeout = 3 * time.Second

// Every spec ends with a leak check, registered first so that it runs last.
var _ = BeforeEach(func() {
	snapshot := Goroutines()
	DeferCleanup(func(ctx SpecContext) {
		Eventually(ctx, Goroutines).WithTimeout(leakTimeout).ShouldNot(HaveLeaked(snapshot))
	}, NodeTimeout(2*leakTimeout))
})
