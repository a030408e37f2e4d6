package fsm_test

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gleak"
)

func TestFSM(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Connection lifecycle")
}

var _ = BeforeSuite(func() {
	SetDefaultEventuallyTimeout(5 * time.Second)
	SetDefaultEventuallyPollingInterval(5 * time.Millisecond)
	gleak.IgnoreGinkgoParallelClient()
})

// Every spec ends with the goroutines it found: the machine, its connections, the loopback
// broker and the proxy must all have stopped theirs.
var _ = BeforeEach(func() {
	snapshot := gleak.Goroutines()
	DeferCleanup(func() {
		Eventually(gleak.Goroutines).ShouldNot(gleak.HaveLeaked(snapshot))
	})
})
