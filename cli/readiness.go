package cli

import (
	"errors"
	"slices"
	"strings"

	"github.com/runwire/runwire/tasks"
)

// problemer is an executor that can say why it cannot run a task now ("" when it can); the
// python executor is one.
type problemer interface {
	Problem() string
}

// readiness is /readyz's question: registered with the broker, and every task type's executor
// able to run a task now. The error names everything missing.
func readiness(registered func() bool, executors map[string]tasks.Executor) func() error {
	types := make([]string, 0, len(executors))
	for typ := range executors {
		types = append(types, typ)
	}
	slices.Sort(types)
	return func() error {
		var missing []string
		if !registered() {
			missing = append(missing, "not registered with the broker")
		}
		for _, typ := range types {
			if p, ok := executors[typ].(problemer); ok {
				if why := p.Problem(); why != "" {
					missing = append(missing, typ+": "+why)
				}
			}
		}
		if len(missing) == 0 {
			return nil
		}
		return errors.New(strings.Join(missing, "; "))
	}
}
