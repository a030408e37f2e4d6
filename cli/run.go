package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runwire/runwire/config"
	"github.com/runwire/runwire/fsm"
	"github.com/runwire/runwire/health"
	"github.com/runwire/runwire/logging"
	"github.com/runwire/runwire/metrics"
	"github.com/runwire/runwire/python"
	"github.com/runwire/runwire/tasks"
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

	runnerID := cfg.RunnerID // N8N_RUNNERS_ID, as n8n assigns it
	if runnerID == "" {
		runnerID = transport.NewID()
	}
	// Metrics are served on the health-check server; without it there is nowhere to scrape.
	var mx *metrics.Metrics
	var observer tasks.Observer
	var onChange func(from, to fsm.State, ev fsm.Event)
	traffic := &transport.Traffic{}
	if cfg.HealthCheck.Enabled && cfg.HealthCheck.Metrics {
		mx = metrics.New()
		observer, onChange = mx, mx.StateChanged
	}
	dialer := &transport.Dialer{
		BrokerURI:        cfg.BrokerURI,
		RunnerID:         runnerID,
		AuthToken:        cfg.AuthToken.Reveal(),
		MaxPayload:       cfg.MaxPayload,
		PingInterval:     cfg.PingInterval,
		HandshakeTimeout: cfg.HandshakeTimeout,
		Logger:           logger,
		Traffic:          traffic,
	}
	mode := "auth token: a fresh grant token for every connection"
	if !cfg.AuthToken.IsSet() {
		dialer.GrantToken = cfg.GrantToken.Reveal()
		mode = "grant token as given: single-use, not renewable"
	} else if cfg.GrantToken.IsSet() {
		logger.Info("N8N_RUNNERS_GRANT_TOKEN is ignored: N8N_RUNNERS_AUTH_TOKEN is set, so runwire fetches its own grant tokens")
	}

	executors, closeExecutors := startExecutors(cfg, env.Environ, logger)
	// A forced exit does not close the executors: closing waits for the processes under
	// running tasks, which is what a forced exit must not do. It kills them instead, which
	// waits for nothing (and the zygote and its children die with runwire anyway:
	// PR_SET_PDEATHSIG, and the zygote is the init of their PID namespace).
	forced := false
	defer func() {
		if !forced {
			closeExecutors()
			return
		}
		for _, ex := range executors {
			if k, ok := ex.(interface{ Kill() }); ok {
				k.Kill() // at once: the processes, and the tasks' files on disk
			}
		}
	}()
	sd := &shutdown{logger: logger}
	var onDrain func()
	if !cfg.AuthToken.IsSet() {
		// With a spent grant token and no auth token to renew it there is no coming back
		// after the broker closes: stop cleanly (exit 0) once the running tasks are done.
		onDrain = func() {
			logger.Info("The broker is shutting down and the grant token cannot be renewed without N8N_RUNNERS_AUTH_TOKEN: stopping once running tasks are done")
			sd.begin(ctx, cfg.GracefulShutdownTimeout, false)
		}
	}
	mgr, err := tasks.New(tasks.Options{
		Executors:       executors,
		MaxConcurrency:  cfg.MaxConcurrency,
		TaskTimeout:     cfg.TaskTimeout,
		SettingsTimeout: cfg.SettingsTimeout,
		OnDrain:         onDrain,
		Observer:        observer,
		Logger:          logger,
	})
	if err != nil {
		logger.Error("Failed to start", "error", err.Error())
		return ExitFailure
	}
	sd.tasks = mgr
	machine, err := fsm.New(fsm.Options{
		Dialer: fsm.TransportDialer(dialer),
		Backoff: fsm.Exponential{
			Initial: cfg.Backoff.Initial, Max: cfg.Backoff.Max,
			Multiplier: cfg.Backoff.Multiplier, Jitter: cfg.Backoff.Jitter,
		},
		Logger:      logger,
		Handler:     mgr,
		TaskTypes:   mgr.TaskTypes(),
		IdleTimeout: cfg.AutoShutdownTimeout,
		OnIdle:      func() { sd.begin(ctx, min(idleShutdownTimeout, cfg.GracefulShutdownTimeout), true) },
		OnChange:    onChange,
	})
	if err != nil {
		logger.Error("Failed to start", "error", err.Error())
		return ExitFailure
	}
	sd.machine = machine

	// The health server starts before the first dial, as n8n's runner does: tooling waits
	// for its line.
	if cfg.HealthCheck.Enabled {
		srv, err := health.Listen(cfg.HealthCheck.Host, cfg.HealthCheck.Port, readiness(machine.Registered, executors))
		if err != nil {
			logger.Error("Failed to start the health check server; change N8N_RUNNERS_HEALTH_CHECK_SERVER_HOST or N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", "error", err.Error())
			return ExitFailure
		}
		if mx != nil {
			py, _ := executors[python.TaskType].(*python.Executor)
			mx.Watch(metrics.Sources{Machine: machine, Tasks: mgr, Traffic: traffic, Python: py})
			srv.ServeMetrics(mx.Handler())
		}
		srv.Start()
		defer func() {
			if forced {
				return
			}
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		fmt.Fprintf(env.Stdout, "Health check server listening on %s, port %d\n", srv.Host(), srv.Port())
	}

	logger.Info("Starting runwire", "version", env.Version, "runner_id", runnerID, "broker_uri", cfg.BrokerURI, "credentials", mode)
	done := make(chan error, 1)
	go func() { done <- machine.Run(ctx) }()

	code, forced = wait(env, cfg, logger, sd, done)
	return code
}

// idleShutdownTimeout caps the shutdown after the idle timeout, as n8n's runner does; no task
// exists then, so it only covers a task accepted at that very moment.
const idleShutdownTimeout = 3 * time.Second

// closeAllowance is what the connection's close handshake may add to the graceful timeout
// before the shutdown counts as overrun.
const closeAllowance = 5 * time.Second

// wait follows the machine until Run returns. The first signal starts the graceful shutdown;
// a second one, or a shutdown that overruns, ends the process at once: forced is then true,
// and the caller returns without waiting for anything (the machine, the tasks and the
// executors are left as they are, for the process's exit to end).
func wait(env Env, cfg config.Config, logger *slog.Logger, sd *shutdown, done <-chan error) (code int, forced bool) {
	var deadline <-chan time.Time
	for {
		select {
		case err := <-done:
			sd.wait()
			return sd.exitCode(err), false
		case sig := <-env.Signals:
			if deadline != nil {
				logger.Warn("Received a second signal, exiting now", "signal", sig.String())
				return ExitFailure, true
			}
			logger.Info("Received signal, shutting down...", "signal", sig.String())
			sd.begin(context.Background(), cfg.GracefulShutdownTimeout, false)
			deadline = time.After(cfg.GracefulShutdownTimeout + closeAllowance)
		case <-deadline:
			logger.Error(fmt.Sprintf("Shutdown timed out after %s, forcing exit...", cfg.GracefulShutdownTimeout+closeAllowance))
			return ExitFailure, true
		}
	}
}

// shutdown is the graceful stop: no new tasks, running ones get the grace period, the rest
// are cancelled and reported, then the connection closes with 1001.
type shutdown struct {
	tasks   *tasks.Manager
	machine *fsm.Machine
	logger  *slog.Logger

	once      sync.Once
	wg        sync.WaitGroup
	idled     atomic.Bool
	cancelled atomic.Int64
}

func (s *shutdown) begin(ctx context.Context, grace time.Duration, idle bool) {
	s.once.Do(func() {
		s.idled.Store(idle)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
			defer cancel()
			if n := s.tasks.Shutdown(gctx); n > 0 {
				s.cancelled.Store(int64(n))
				s.logger.Warn(fmt.Sprintf("Cancelled %d task(s) still running after %s (N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT)", n, grace))
			}
			s.machine.Stop()
		}()
	})
}

// wait lets the shutdown goroutine and the task goroutines end.
func (s *shutdown) wait() {
	s.wg.Wait()
	s.tasks.Wait()
}

func (s *shutdown) exitCode(err error) int {
	switch {
	case err == nil && s.cancelled.Load() > 0:
		return ExitFailure
	case err == nil:
		if s.idled.Load() {
			s.logger.Info("Stopped after the idle timeout (N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT)")
		}
		return ExitOK
	case errors.Is(err, fsm.ErrAuthFailed):
		s.logger.Error("Giving up: the broker refused runwire's credentials", "error", err.Error())
		return ExitAuthFailed
	default:
		s.logger.Error("Stopped on an unexpected error", "error", err.Error())
		return ExitFailure
	}
}

func newLogger(env Env, cfg config.Config) (*slog.Logger, error) {
	level, _ := logging.ParseLevel(cfg.Log.Level)
	noColor := slices.ContainsFunc(env.Environ, func(kv string) bool { return strings.HasPrefix(kv, "NO_COLOR=") })
	return logging.New(env.Stdout, logging.Options{Level: level, Format: cfg.Log.Format, Terminal: env.Terminal, NoColor: noColor})
}
