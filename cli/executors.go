package cli

import (
	"log/slog"

	"github.com/runwire/runwire/config"
	"github.com/runwire/runwire/python"
	"github.com/runwire/runwire/tasks"
)

// startExecutors starts every built-in executor; closeAll stops them once no task runs.
func startExecutors(cfg config.Config, environ []string, logger *slog.Logger) (executors map[string]tasks.Executor, closeAll func()) {
	py := python.Start(python.OptionsFrom(cfg, environ, logger))
	return map[string]tasks.Executor{python.TaskType: py}, py.Close
}
