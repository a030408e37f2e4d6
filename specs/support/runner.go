package support

import (
	"context"

	. "github.com/onsi/ginkgo/v2" //nolint:revive,staticcheck // the DSL reads best dot-imported
	. "github.com/onsi/gomega"    //nolint:revive,staticcheck // the DSL reads best dot-imported

	"github.com/runwire/runwire/fsm"
)

// Waiter is what ends after the machine: the task manager.
type Waiter interface{ Wait() }

// RunMachine runs m with ctx in the background, as runwire's main does. Cleanup stops it,
// waits for Run to return, calls release (for an executor holding tasks back; may be nil),
// then waits for w: the order runwire itself shuts down in.
func RunMachine(ctx context.Context, m *fsm.Machine, w Waiter, release func()) {
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		_ = m.Run(ctx)
	}()
	DeferCleanup(func(ctx SpecContext) {
		m.Stop()
		Eventually(ctx, finished).Should(BeClosed(), "Run returns once stopped")
		if release != nil {
			release()
		}
		waited := make(chan struct{})
		go func() {
			defer close(waited)
			w.Wait()
		}()
		Eventually(ctx, waited).Should(BeClosed(), "Manager.Wait returns once the machine has stopped")
	}, NodeTimeout(LeakTimeout*10))
}

// IsType matches a runner message by type.
func IsType(typ string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == typ }
}

// IsTerminal matches taskID's runner:taskdone or runner:taskerror.
func IsTerminal(taskID string) func(map[string]any) bool {
	return func(m map[string]any) bool {
		return m["taskId"] == taskID && (m["type"] == "runner:taskdone" || m["type"] == "runner:taskerror")
	}
}
