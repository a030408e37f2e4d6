package python

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// State is where the executor is in its zygote's life.
type State int

// The executor's states. Starting and Restarting hold tasks (they wait, within their own
// timeout, for the zygote); Unavailable fails them at once with the reason; Running serves
// them. Closed is terminal.
//
//	Starting    → Running | Unavailable | Closed
//	Running     → Restarting (the zygote ended) | Unavailable (it keeps ending) | Closed
//	Restarting  → Running | Unavailable | Closed
//	Unavailable → Running (a later attempt worked) | Closed
const (
	Starting State = iota
	Running
	Restarting
	Unavailable
	Closed
)

func (s State) String() string {
	return [...]string{"starting", "running", "restarting", "unavailable", "closed"}[s]
}

// Restart is the supervisor's policy; zero fields take the defaults.
type Restart struct {
	// Initial is the pause before the second attempt in a row (the first retry is at
	// once); each further one doubles it, up to Max. A zygote that has served tasks
	// resets it. Defaults: 100 ms, 30 s.
	Initial, Max time.Duration
	// Limit zygote ends within Window make the executor Unavailable (a crash loop) until
	// one runs again. Defaults: 5 in 30 s.
	Limit  int
	Window time.Duration
}

func (r Restart) withDefaults() Restart {
	if r.Initial <= 0 {
		r.Initial = 100 * time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = 30 * time.Second
	}
	r.Max = max(r.Max, r.Initial)
	if r.Limit <= 0 {
		r.Limit = 5
	}
	if r.Window <= 0 {
		r.Window = 30 * time.Second
	}
	return r
}

// UnavailableError is the answer to a task while the executor cannot run any: n8n shows its
// message in the Code node.
type UnavailableError struct{ Reason error }

func (e *UnavailableError) Error() string {
	return "Python is not available on this runner: " + e.Reason.Error()
}

func (e *UnavailableError) Unwrap() error { return e.Reason }

// supervise owns the zygote's whole life: it starts one, waits for its end, says why it
// ended, and starts the next, with backoff, until the executor closes. It is the only writer
// of the executor's state (through setState).
func (e *Executor) supervise(ctx context.Context) {
	defer e.wg.Done()
	policy := e.opts.Restart
	var (
		ends  []time.Time // the zygote's ends within the window
		pause time.Duration
		first = true
	)
	// ended counts one more end of a zygote that had run, or of its replacement during
	// start-up: Restarting while they are few, Unavailable once they make a crash loop.
	ended := func(reason string) {
		e.restarts.Add(1)
		now := time.Now()
		ends = append(ends, now)
		for len(ends) > 0 && now.Sub(ends[0]) > policy.Window {
			ends = ends[1:]
		}
		if len(ends) >= policy.Limit {
			e.setState(Unavailable, nil, fmt.Errorf("the Python process keeps exiting (%s, %d times in %s); its stderr is in runwire's debug log", reason, len(ends), policy.Window))
		} else {
			e.setState(Restarting, nil, nil)
		}
	}
	for {
		z, err := e.startZygote(ctx)
		if ctx.Err() != nil {
			if z != nil {
				z.close()
			}
			e.setState(Closed, nil, nil)
			return
		}
		var died *startupExit
		switch {
		case err != nil && errors.As(err, &died) && !first:
			// It ran before: most likely what killed the last one (the OOM killer, an
			// operator) struck again, not a broken installation.
			e.log.Warn("The new Python zygote exited during start-up", "reason", died.reason, "stderr", died.stderr)
			ended(died.reason)
		case err != nil:
			// The first start failed, or for a reason that stays (no interpreter, too old,
			// a refused seccomp filter): fail tasks at once.
			e.setState(Unavailable, nil, err)
		default:
			if first {
				// Before the state changes: whoever sees Ready return has the line too.
				e.log.Info("Python task isolation in force: " + e.wallsOf(z).String())
			}
			e.setState(Running, z, nil)
			if first {
				e.idle.idle() // what booting (and runwire's own start) left behind
			}
			first = false
			select {
			case <-z.exited:
			case <-ctx.Done():
				z.close()
				e.setState(Closed, nil, nil)
				return
			}
			if z.served.Load() > 0 {
				ends, pause = nil, 0
			}
			reason := z.exitReason()
			e.log.Warn("The Python zygote exited; starting a new one", "reason", reason, "stderr", z.stderrTail())
			ended(reason)
			z.close()
		}
		if pause > 0 {
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				e.setState(Closed, nil, nil)
				return
			}
		}
		pause = min(max(pause*2, policy.Initial), policy.Max)
	}
}

// startZygote is one attempt: find the interpreter, start the zygote, wait for its ready and
// check what it reports. On success the zygote runs and its pool is filling.
func (e *Executor) startZygote(ctx context.Context) (*zygote, error) {
	start := time.Now()
	interp, cached, err := DiscoverCached(ctx, e.opts.Interpreter, e.opts.ProbeCache)
	if err != nil {
		return nil, err
	}
	e.log.Debug("Python interpreter resolved", "python", interp.Path, "from_cache", cached)
	cg, cgErr := newTaskCgroups(e.opts.Limits.Processes)
	if cgErr != nil {
		e.log.Debug("No per-task pids cgroups", "reason", cgErr.Error())
	}
	limits := e.opts.Limits
	if os.Getuid() == 0 {
		// RLIMIT_NPROC never binds root (the kernel exempts its processes, in any user
		// namespace), so the children need not count the user's processes to set it;
		// the pids cgroup, where there is one, is the cap.
		limits.Processes = 0
	}
	z, err := startZygote(interp, e.opts.Environ, zygoteConfig{
		StdlibAllow: e.opts.StdlibAllow, ExternalAllow: e.opts.ExternalAllow, BuiltinsDeny: e.opts.BuiltinsDeny,
		BlockEnvAccess: e.opts.BlockEnvAccess, EnvAllow: e.opts.EnvAllow, AllowTransitiveImports: e.opts.AllowTransitiveImports,
		Limits: limits, MaxPrints: maxPrints, MaxPayload: e.opts.MaxPayload, AllowNetwork: e.opts.AllowNetwork, Landlock: true,
		SeccompFor: e.seccompFor, TmpBytes: e.opts.TmpBytes, BreakLandlock: e.opts.BreakLandlockForSpecs, BreakProc: e.opts.BreakProcForSpecs,
		RefuseProcProbe: e.opts.RefuseProcProbeForSpecs, forkFault: e.opts.ForkFaultForSpecs,
		Preload: preloadNames(e.opts.ExternalAllow, e.opts.Preload),
	}, e.opts.Prefork, cg, e.log)
	if err != nil {
		if cg != nil {
			cg.close()
		}
		return nil, err
	}
	select {
	case <-z.ready:
	case <-z.exited:
		err := &startupExit{reason: z.exitReason(), stderr: orNothing(z.stderrTail())}
		z.close()
		return nil, err
	case <-ctx.Done():
		return z, ctx.Err()
	}
	if z.seccompRefused != "" {
		// Fail closed: no task runs without the filter the policy gives it.
		z.close()
		return nil, fmt.Errorf("the kernel refused the seccomp filter every Python task must run under (%s)", z.seccompRefused)
	}
	if z.taskNamespacesRefused != "" {
		// Fail closed: the seccomp filter allows SysV IPC because each task was to have an
		// IPC namespace of its own.
		z.close()
		return nil, fmt.Errorf("the kernel refused the PID, IPC and mount namespaces every Python task must have (%s)", z.taskNamespacesRefused)
	}
	if err := e.checkWalls(z); err != nil {
		z.close()
		return nil, err
	}
	e.logPreloads(z.preload, interp.Path)
	z.pool.topUp()
	e.mu.Lock()
	e.interp = interp
	e.mu.Unlock()
	e.log.Info("Python executor ready", "python", interp.Path, "version", interp.Version, "prefork", e.opts.Prefork,
		"boot", time.Since(start).Round(time.Millisecond).String())
	return z, nil
}

// startupExit is a zygote that ended before its ready line.
type startupExit struct{ reason, stderr string }

func (e *startupExit) Error() string {
	return fmt.Sprintf("the Python process exited during start-up (%s): %s", e.reason, e.stderr)
}

func orNothing(s string) string {
	if s == "" {
		return "it wrote nothing to stderr"
	}
	return s
}

// setState is the one funnel for the executor's state: it logs each change once (ERROR on
// becoming Unavailable, INFO on recovering) and wakes every task waiting for it.
func (e *Executor) setState(st State, z *zygote, reason error) {
	e.mu.Lock()
	prev := e.state
	e.state, e.z, e.reason = st, z, reason
	if z != nil {
		e.last = z
	}
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
	if st != Starting {
		e.bootOnce.Do(func() { close(e.booted) })
	}
	if prev == st {
		if st == Unavailable {
			e.log.Debug("Python is still unavailable: " + reason.Error())
		}
		return
	}
	switch st {
	case Unavailable:
		e.log.Error((&UnavailableError{Reason: reason}).Error())
	case Running:
		if prev == Unavailable || prev == Restarting {
			e.log.Info("Python tasks run again")
		}
	}
}

// current waits until the executor has a zygote to give a task (other than stale, one that
// has ended), or cannot run tasks (the error then says why), or ctx ends.
func (e *Executor) current(ctx context.Context, stale *zygote) (*zygote, error) {
	for {
		e.mu.Lock()
		st, z, reason, changed := e.state, e.z, e.reason, e.changed
		e.mu.Unlock()
		switch st {
		case Running:
			if z != stale {
				return z, nil
			}
		case Unavailable:
			return nil, &UnavailableError{Reason: reason}
		case Closed:
			return nil, &UnavailableError{Reason: errors.New("the Python executor has been closed")}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// State reports the executor's state and, when Unavailable, why.
func (e *Executor) State() (State, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state, e.reason
}

// Problem says why the executor cannot run a task now ("" when it can), for /readyz.
func (e *Executor) Problem() string {
	st, reason := e.State()
	switch st {
	case Running:
		return ""
	case Unavailable:
		return (&UnavailableError{Reason: reason}).Error()
	default:
		return "Python is " + st.String()
	}
}
