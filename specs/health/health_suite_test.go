package health_test

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gleak"
)

func TestHealth(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Health Suite")
}

// leakTimeout bounds the leak check, so that a leak fails with the list of
// leaked goroutines rather than as a node timeout.
const leakTimeout = 3 * time.Second

// Every spec ends with a leak check. It is a cleanup registered first, so it
// runs last, after the specs' own cleanups have shut their servers down.
var _ = BeforeEach(func() {
	snapshot := Goroutines()
	DeferCleanup(func(ctx SpecContext) {
		Eventually(ctx, Goroutines).WithTimeout(leakTimeout).ShouldNot(HaveLeaked(snapshot))
	}, NodeTimeout(2*leakTimeout))
})
