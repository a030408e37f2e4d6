package python

import (
	"log/slog"

	"github.com/runwire/runwire/config"
)

// OptionsFrom maps runwire's configuration to the executor's options: n8n's sandbox settings,
// runwire's interpreter and per-task caps. environ is runwire's environment.
func OptionsFrom(cfg config.Config, environ []string, logger *slog.Logger) Options {
	return Options{
		Interpreter:            cfg.Python.Interpreter,
		ProbeCache:             DefaultProbeCacheDir(),
		Environ:                environ,
		StdlibAllow:            cfg.Sandbox.StdlibAllow,
		ExternalAllow:          cfg.Sandbox.ExternalAllow,
		BuiltinsDeny:           cfg.Sandbox.BuiltinsDeny,
		EnvAllow:               cfg.Sandbox.EnvAllow,
		BlockEnvAccess:         cfg.Sandbox.BlockEnvAccess,
		AllowTransitiveImports: cfg.Sandbox.AllowTransitiveImports,
		Limits: Limits{
			MemoryBytes:   cfg.Python.MemoryBytes,
			CPUSeconds:    cfg.Python.CPUSeconds,
			OpenFiles:     cfg.Python.OpenFiles,
			FileSizeBytes: cfg.Python.FileSizeBytes,
			Processes:     cfg.Python.Processes,
		},
		AllowNetwork:    cfg.Python.Network == "allow",
		Withdraw:        cfg.Python.Unavailable == "withdraw",
		BestEffortWalls: cfg.Python.Walls == "best-effort",
		TmpBytes:        cfg.Python.TmpBytes,
		MaxPayload:      cfg.MaxPayload,
		Prefork:         cfg.Python.Prefork,
		Preload:         cfg.Python.Preload,
		MaxConcurrency:  cfg.MaxConcurrency,
		Logger:          logger,
	}
}
