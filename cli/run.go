package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/runwire/runwire/config"
	"github.com/runwire/runwire/fsm"
	"github.com/runwire/runwire/health"
	"github.com/runwire/runwire/logging"
	"github.com/runwire/runwire/transport"
)

// run is `runwire run`: connect, register, stay connected until a signal, the idle timeout
// or an authentication failure.
func run(ctx context.Context, env Env, args []string) int {
	cfg, code, ok := loadConfig(env, args)
	if !ok {
		return code
	}
	logger, err := newLogger(env, cfg)
	if err != nil {
		fmt.Fprintf(env.Stderr, "runwire: configuration error:\n%s\n", indent(err.Error()))
		return ExitConfig
	}
	for _, w := range cfg.Warnings {
		logger.Warn(w)
	}

	runnerID := transport.NewID()
	dialer := &transport.Dialer{
		BrokerURI:        cfg.BrokerURI,
		RunnerID:         runnerID,
		AuthToken:        cfg.AuthToken.Reveal(),
		MaxPayload:       cfg.MaxPayload,
		PingInterval:     cfg.PingInterval,
		HandshakeTimeout: cfg.HandshakeTimeout,
		Logger:           logger,
	}
	mode := "auth token: a fresh grant token for every connection"
	if !cfg.AuthToken.IsSet() {
		dialer.GrantToken = cfg.GrantToken.Reveal()
		mode = "grant token as given: single-use, not renewable"
	} else if cfg.GrantToken.IsSet() {
		logger.Info("N8N_RUNNERS_GRANT_TOKEN is ignored: N8N_RUNNERS_AUTH_TOKEN is set, so runwire fetches its own grant tokens")
	}

	var idled atomic.Bool
	var machine *fsm.Machine
	machine, err = fsm.New(fsm.Options{
		Dialer: fsm.TransportDialer(dialer),
		Backoff: fsm.Exponential{
			Initial: cfg.Backoff.Initial, Max: cfg.Backoff.Max,
			Multiplier: cfg.Backoff.Multiplier, Jitter: cfg.Backoff.Jitter,
		},
		Logger:      logger,
		IdleTimeout: cfg.AutoShutdownTimeout,
		OnIdle: func() {
			idled.Store(true)
			machine.Stop()
		},
	})
	if err != nil {
		logger.Error("Failed to start", "error", err.Error())
		return ExitFailure
	}

	// The health server starts before the first dial, as n8n's runner does: tooling waits
	// for its line.
	if cfg.HealthCheck.Enabled {
		srv, err := health.Listen(cfg.HealthCheck.Host, cfg.HealthCheck.Port, machine.Registered)
		if err != nil {
			logger.Error("Failed to start the health check server; change N8N_RUNNERS_HEALTH_CHECK_SERVER_HOST or N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", "error", err.Error())
			return ExitFailure
		}
		srv.Start()
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		fmt.Fprintf(env.Stdout, "Health check server listening on %s, port %d\n", srv.Host(), srv.Port())
	}

	logger.Info("Starting runwire", "version", env.Version, "runner_id", runnerID, "broker_uri", cfg.BrokerURI, "credentials", mode)
	done := make(chan error, 1)
	go func() { done <- machine.Run(ctx) }()

	return wait(env, cfg, logger, machine, done, &idled)
}

// wait follows the machine until Run returns: the first signal stops it, a second one, or a
// shutdown longer than N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT, ends the process at once.
func wait(env Env, cfg config.Config, logger *slog.Logger, machine *fsm.Machine, done <-chan error, idled *atomic.Bool) int {
	var deadline <-chan time.Time
	for {
		select {
		case err := <-done:
			return exitCode(logger, err, idled.Load())
		case sig := <-env.Signals:
			if deadline != nil {
				logger.Warn("Received a second signal, exiting now", "signal", sig.String())
				return ExitFailure
			}
			logger.Info("Received signal, shutting down...", "signal", sig.String())
			machine.Stop()
			deadline = time.After(cfg.GracefulShutdownTimeout)
		case <-deadline:
			logger.Error(fmt.Sprintf("Shutdown timed out after %s, forcing exit...", cfg.GracefulShutdownTimeout))
			return ExitFailure
		}
	}
}

func exitCode(logger *slog.Logger, err error, idled bool) int {
	switch {
	case err == nil:
		if idled {
			logger.Info("Stopped after the idle timeout (N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT)")
		}
		return ExitOK
	case errors.Is(err, fsm.ErrAuthFailed):
		logger.Error("Giving up: the broker refused runwire's credentials", "error", err.Error())
		return ExitAuthFailed
	default:
		logger.Error("Stopped on an unexpected error", "error", err.Error())
		return ExitFailure
	}
}

func newLogger(env Env, cfg config.Config) (*slog.Logger, error) {
	level, _ := logging.ParseLevel(cfg.Log.Level)
	noColor := slices.ContainsFunc(env.Environ, func(kv string) bool { return strings.HasPrefix(kv, "NO_COLOR=") })
	return logging.New(env.Stdout, logging.Options{Level: level, Format: cfg.Log.Format, Terminal: env.Terminal, NoColor: noColor})
}
