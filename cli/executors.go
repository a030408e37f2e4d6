package cli

import (
	"log/slog"

	"github.com/runwire/runwire/config"
	"github.com/runwire/runwire/python"
	"github.com/runwire/runwire/tasks"
)

// startExecutors starts every built-in executor; close stops them once no task runs.
func startExecutors(cfg config.Config, environ []string, logger *slog.Logger) (executors map[string]tasks.Executor, closeAll func()) {
	py := python.Start(python.Options{
		Interpreter:            cfg.Python.Interpreter,
		Environ:                environ,
		StdlibAllow:            cfg.Sandbox.StdlibAllow,
		ExternalAllow:          cfg.Sandbox.ExternalAllow,
		BuiltinsDeny:           cfg.Sandbox.BuiltinsDeny,
		EnvAllow:               cfg.Sandbox.EnvAllow,
		BlockEnvAccess:         cfg.Sandbox.BlockEnvAccess,
		AllowTransitiveImports: cfg.Sandbox.AllowTransitiveImports,
		Limits: python.Limits{
			MemoryBytes:   cfg.Python.MemoryBytes,
			CPUSeconds:    cfg.Python.CPUSeconds,
			OpenFiles:     cfg.Python.OpenFiles,
			FileSizeBytes: cfg.Python.FileSizeBytes,
			Processes:     cfg.Python.Processes,
		},
		AllowNetwork:   cfg.Python.Network == "allow",
		MaxPayload:     cfg.MaxPayload,
		Prefork:        cfg.Python.Prefork,
		MaxConcurrency: cfg.MaxConcurrency,
		Logger:         logger,
	})
	return map[string]tasks.Executor{python.TaskType: py}, py.Close
}
