package python

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/runwire/runwire/tasks"
)

// TaskType is the task type this executor serves.
const TaskType = "python"

// Limits are the resource limits each task's process gets; 0 leaves one as it is.
type Limits struct {
	MemoryBytes   int64 `json:"memoryBytes"`
	CPUSeconds    int64 `json:"cpuSeconds"`
	OpenFiles     int64 `json:"openFiles"`
	FileSizeBytes int64 `json:"fileSizeBytes"`
	// Processes is how many more processes a task may start (fork bombs end there).
	Processes int64 `json:"processes"`
}

// Options configure the Python executor.
type Options struct {
	// Interpreter is RUNWIRE_PYTHON; "" means python3 on PATH.
	Interpreter string
	// Environ is runwire's environment; the broker secrets are removed before any Python
	// process sees it.
	Environ []string
	// The sandbox settings, as n8n names them (N8N_RUNNERS_STDLIB_ALLOW and so on).
	StdlibAllow, ExternalAllow, BuiltinsDeny, EnvAllow []string
	BlockEnvAccess, AllowTransitiveImports             bool
	Limits                                             Limits
	// AllowNetwork gives tasks the machine's network (RUNWIRE_PYTHON_NETWORK=allow); by
	// default they get none.
	AllowNetwork bool
	// MaxPayload bounds one frame from a child (N8N_RUNNERS_MAX_PAYLOAD).
	MaxPayload int64
	// Prefork is how many children are kept forked and waiting; 0 means 2.
	Prefork int
	// MaxConcurrency is the most tasks that run at once; it sizes the pool.
	MaxConcurrency int
	// IdleRelease is how long no task must have run (after the last one, or after the boot)
	// before runwire returns its free heap memory to the operating system; 0 means 1 s, a
	// negative value never.
	IdleRelease time.Duration
	Logger      *slog.Logger
}

// n8n's messages for a child that ends without a result.
const (
	msgKilled   = "Process was forcefully killed (SIGKILL)"
	msgNoResult = "Process completed but returned no result. This is likely an internal error."
	msgNoRead   = "Failed to read result from child process"
	maxPrints   = 100
	cacheSize   = 500
)

// Executor runs "python" tasks. Start it once; it boots in the background (finding the
// interpreter, warming the zygote) so that runwire registers without waiting, and a task that
// arrives first waits for it. Safe for concurrent use.
type Executor struct {
	opts  Options
	log   *slog.Logger
	cache *analysisCache
	idle  *idleRelease

	booted  chan struct{} // closed when boot has finished, either way
	failed  atomic.Bool
	bootErr error
	z       *zygote
	interp  Interpreter
	// seccompMissing is why tasks have no seccomp filter, when they have none.
	seccompMissing string

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start begins booting the executor and returns at once.
func Start(opts Options) *Executor {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Prefork <= 0 {
		opts.Prefork = 2
	}
	if opts.MaxConcurrency <= 0 {
		opts.MaxConcurrency = 5
	}
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = 1 << 30
	}
	if opts.IdleRelease == 0 {
		opts.IdleRelease = defaultIdleRelease
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Executor{
		opts: opts, log: opts.Logger, cache: newAnalysisCache(cacheSize), booted: make(chan struct{}), cancel: cancel,
		idle: &idleRelease{after: opts.IdleRelease, log: opts.Logger},
	}
	e.wg.Add(1)
	go e.boot(ctx)
	return e
}

func (e *Executor) boot(ctx context.Context) {
	defer e.wg.Done()
	defer close(e.booted)
	start := time.Now()
	interp, err := Discover(ctx, e.opts.Interpreter)
	if err == nil {
		e.interp = interp
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
		e.z, err = startZygote(interp, e.opts.Environ, zygoteConfig{
			StdlibAllow: e.opts.StdlibAllow, ExternalAllow: e.opts.ExternalAllow, BuiltinsDeny: e.opts.BuiltinsDeny,
			BlockEnvAccess: e.opts.BlockEnvAccess, EnvAllow: e.opts.EnvAllow, AllowTransitiveImports: e.opts.AllowTransitiveImports,
			Limits: limits, MaxPrints: maxPrints, MaxPayload: e.opts.MaxPayload, AllowNetwork: e.opts.AllowNetwork, Landlock: true,
			Seccomp: e.seccompFilter(),
		}, e.opts.MaxConcurrency+e.opts.Prefork, cg, e.log)
		if err != nil && cg != nil {
			cg.close()
		}
	}
	if err == nil {
		select {
		case <-e.z.ready:
			if e.z.seccompRefused != "" {
				// Fail closed: no task runs without the filter the policy gives it.
				err = fmt.Errorf("the kernel refused the seccomp filter every Python task must run under (%s)", e.z.seccompRefused)
				break
			}
			err = e.z.fork(e.opts.Prefork)
		case <-e.z.exited:
			err = errors.New("the Python zygote exited during start-up (its stderr is in the debug log)")
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		e.bootErr = err
		e.failed.Store(true)
		if ctx.Err() == nil {
			e.log.Error("Python tasks are unavailable, runwire offers none: " + err.Error())
		}
		return
	}
	e.log.Info("Python executor ready", "python", interp.Path, "version", interp.Version, "prefork", e.opts.Prefork,
		"boot", time.Since(start).Round(time.Millisecond).String())
	e.log.Info("Python task isolation in force: " + e.walls().String())
	e.idle.idle() // what booting (and runwire's own start) left behind
}

// Walls says which isolation walls are in force around tasks.
type Walls struct {
	Namespaces []string // the zygote's namespaces: user, net, pid, ipc
	Landlock   int      // Landlock ABI; 0 = none (writes and TCP are then not walled off)
	Network    bool     // tasks may use the network
	Cgroups    bool     // each task has its own pids cgroup (cap, and a sweep at the end)
	Limits     Limits
	// Seccomp is how many system calls the filter every child installs refuses (0: none);
	// SeccompGroups names them, SeccompMissing says why there is no filter.
	Seccomp        int
	SeccompGroups  string
	SeccompMissing string
}

func (w Walls) String() string {
	ns := "none"
	if len(w.Namespaces) > 0 {
		ns = strings.Join(w.Namespaces, ",")
	}
	ll := "unavailable"
	if w.Landlock > 0 {
		ll = fmt.Sprintf("ABI %d (writes only to a private temp dir; reads only there and in system and Python directories; no TCP unless allowed; no signals out)", w.Landlock)
	}
	procs := fmt.Sprintf("+%d (RLIMIT_NPROC)", w.Limits.Processes)
	switch {
	case w.Cgroups:
		procs = fmt.Sprintf("%d per task (pids cgroup; left-over processes killed when the task ends)", w.Limits.Processes)
	case os.Getuid() == 0:
		procs = "not enforced (Linux exempts root from RLIMIT_NPROC, and no pids cgroup could be made)"
	}
	sc := "none (" + w.SeccompMissing + ")"
	if w.Seccomp > 0 {
		sc = fmt.Sprintf("%d rules (refused with EPERM, clone3 ENOSYS: %s; installed by every child before its hello, which reports it)", w.Seccomp, w.SeccompGroups)
	}
	return fmt.Sprintf("process per task; namespaces: %s; network: %v; landlock: %s; seccomp: %s; limits: memory %d B, cpu %d s, open files %d, file size %d B, processes %s",
		ns, w.Network, ll, sc, w.Limits.MemoryBytes, w.Limits.CPUSeconds, w.Limits.OpenFiles, w.Limits.FileSizeBytes, procs)
}

// Walls reports the isolation in force; it is meaningful once Ready has returned nil.
func (e *Executor) Walls() Walls {
	select {
	case <-e.booted:
		return e.walls()
	default:
		return Walls{Network: e.opts.AllowNetwork, Limits: e.opts.Limits, SeccompMissing: "Python has not started"}
	}
}

// walls is Walls for the booting goroutine, or once booted is closed.
func (e *Executor) walls() Walls {
	w := Walls{Network: e.opts.AllowNetwork, Limits: e.opts.Limits}
	w.SeccompMissing = "Python has not started"
	if e.z != nil {
		w.Namespaces, w.Landlock, w.Cgroups = e.z.spaces, e.z.landlock, e.z.cgroups != nil
		w.Network = e.opts.AllowNetwork || !slices.Contains(e.z.spaces, "net")
		w.Seccomp, w.SeccompMissing = e.z.seccomp, e.seccompMissing
		if e.z.seccompRefused != "" {
			w.Seccomp, w.SeccompMissing = 0, "the kernel refused it: "+e.z.seccompRefused
		}
		if w.Seccomp > 0 {
			w.SeccompGroups = seccompGroups(taskSeccompPolicy(e.opts.AllowNetwork).Rules())
		}
	}
	return w
}

// seccompFilter compiles the tasks' seccomp policy for the zygote's config line; nil (and
// the reason in seccompMissing) when there is no program for this architecture.
func (e *Executor) seccompFilter() *seccompConfig {
	prog, err := taskSeccompPolicy(e.opts.AllowNetwork).Program()
	if err != nil {
		e.seccompMissing = err.Error()
		e.log.Warn("Python tasks run without a seccomp filter: " + err.Error())
		return nil
	}
	return &seccompConfig{Program: hex.EncodeToString(prog.Bytes()), Rules: prog.Rules}
}

// Available is false once booting has failed: the task manager then offers no python tasks.
func (e *Executor) Available() bool { return !e.failed.Load() }

// Ready blocks until the executor has booted, and says whether it can run tasks.
func (e *Executor) Ready(ctx context.Context) error {
	select {
	case <-e.booted:
		return e.bootErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the zygote and every waiting child and removes the runtime directory. Tasks
// must have ended first (the task manager's Wait).
func (e *Executor) Close() {
	e.cancel()
	<-e.booted
	e.idle.close()
	if e.z != nil {
		e.z.close()
	}
	e.wg.Wait()
}

// Kill is Close for a forced exit: it SIGKILLs the zygote (and so every task process, in its
// PID namespace) and removes the runtime directory, with the tasks' temp files, without
// waiting for tasks, processes or goroutines. The executor is unusable afterwards. An
// executor still booting is left to die with runwire (PR_SET_PDEATHSIG).
func (e *Executor) Kill() {
	select {
	case <-e.booted:
	default:
		return
	}
	if e.z != nil {
		e.z.kill()
	}
}

// Execute implements tasks.Executor.
func (e *Executor) Execute(ctx context.Context, task tasks.Task, console tasks.Console) (json.RawMessage, error) {
	e.idle.begin()
	defer e.idle.end()
	s, err := checkSettings(task.Settings)
	if err != nil {
		return nil, err
	}
	key := analysisKey(*s.Code, e.opts.StdlibAllow, e.opts.ExternalAllow)
	analysed, violation := e.cache.lookup(key)
	if violation != nil {
		return nil, violation
	}
	if err := e.Ready(ctx); err != nil {
		return nil, fmt.Errorf("Python is not available: %w", err) //nolint:staticcheck // n8n shows this to the user: a sentence
	}
	c, err := e.z.take(ctx)
	if err != nil {
		return nil, err
	}
	// The pool gave one up: fork its replacement now, off the task's path.
	if err := e.z.fork(1); err != nil {
		e.log.Warn("Could not ask the Python zygote for a new child: " + err.Error())
	}
	defer func() {
		_ = c.conn.Close()
		if c.cgroup != "" {
			// Whatever the task left behind, setsid or not, goes with its cgroup.
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				e.z.cgroups.sweep(c.cgroup)
			}()
		}
	}()

	stopped := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(stopped)
		e.z.terminate(c)
	})
	defer func() {
		if !stop() {
			<-stopped // the termination has started: let it finish
		}
	}()

	if err := writeTaskFrame(c.conn, taskFrame{Type: "task", TaskID: task.ID, Settings: task.Settings, SkipAnalysis: analysed}); err != nil {
		return nil, e.crashed(ctx, c)
	}
	prints := 0
	for {
		body, err := readFrame(c.conn, e.opts.MaxPayload)
		var big *frameTooBigError
		switch {
		case errors.As(err, &big) && big.print:
			e.log.Warn("A Python task broke the print cap; it is stopped", "task_id", task.ID, "size", big.size)
			return nil, &tasks.Error{Message: fmt.Sprintf("The task sent a print() of %d bytes, over runwire's cap of %d: its Python process did not keep to the protocol", big.size, big.limit), Description: ptr("")}
		case errors.As(err, &big):
			return nil, &tasks.Error{Message: fmt.Sprintf("The task's output is too large to send: %d bytes, more than the broker accepts (N8N_RUNNERS_MAX_PAYLOAD is %d bytes)", big.size, big.limit), Description: ptr("")}
		case err != nil:
			return nil, e.crashed(ctx, c)
		}
		if result, ok := resultOf(body); ok {
			return result, nil // the frame's own bytes: no copy
		}
		var f childFrame
		if err := json.Unmarshal(body, &f); err != nil {
			return nil, &tasks.Error{Message: msgNoRead, Description: ptr("")}
		}
		switch f.Type {
		case "analysis":
			if f.OK {
				e.cache.store(key, nil)
			}
		case "print":
			// A child is not trusted to keep to the cap: code that escapes the language
			// sandbox can write any frame it likes.
			if prints++; prints <= maxPrints+1 {
				console.Print(f.Args...)
			}
		case "result":
			if len(f.Result) == 0 {
				return json.RawMessage("null"), nil
			}
			return f.Result, nil
		case "error":
			te := &tasks.Error{Message: f.Message, Description: f.Description, Fatal: f.Fatal}
			if f.Fatal && f.Message == "Security violations detected" {
				e.cache.store(key, te)
			}
			return nil, te
		}
	}
}

// crashed explains a child that ended without a result, by how it ended.
func (e *Executor) crashed(ctx context.Context, c *child) error {
	if ctx.Err() != nil {
		return context.Cause(ctx) // the task manager reports why it stopped the task
	}
	select {
	case <-c.exit.done:
	case <-time.After(2 * time.Second):
		return &tasks.Error{Message: msgNoRead, Description: ptr("")}
	}
	switch code := c.exit.code; {
	case code == -9:
		return &tasks.Error{Message: msgKilled, Description: ptr("")}
	case code == -int(syscall.SIGXCPU) && e.opts.Limits.CPUSeconds > 0:
		return &tasks.Error{Message: fmt.Sprintf("Task used more than %d seconds of CPU time (RUNWIRE_PYTHON_CPU_SECONDS)", e.opts.Limits.CPUSeconds), Description: ptr("")}
	case code == 0:
		return &tasks.Error{Message: msgNoResult, Description: ptr("")}
	default:
		return &tasks.Error{Message: fmt.Sprintf("Task subprocess exited with code %d", code), Description: ptr("")}
	}
}

func ptr[T any](v T) *T { return &v }
