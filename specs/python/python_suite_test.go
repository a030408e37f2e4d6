package python_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/python"
	"github.com/runwire/runwire/specs/support"
)

func TestPython(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Python executor")
}

// Every spec ends with a goroutine-leak check; see support.ConfigureSuite.
var _ = support.ConfigureSuite()

// interpreter is the real Python behind RUNWIRE_PYTHON (else python3 on PATH), resolved once: every rig passes it
// as RUNWIRE_PYTHON, so that no spec pays for the pyenv shim (300 ms a start here).
var interpreter = sync.OnceValues(func() (python.Interpreter, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return python.Discover(ctx, os.Getenv("RUNWIRE_PYTHON")) // as runwire reads it; "" = python3 on PATH
})

// interpreterPath is interpreter's path; the spec fails if there is no usable Python.
func interpreterPath() string {
	GinkgoHelper()
	in, err := interpreter()
	Expect(err).NotTo(HaveOccurred(), "the specs need Python 3 on PATH")
	return in.Path
}
