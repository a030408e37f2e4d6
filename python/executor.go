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
	// ProbeCache is the directory where the interpreter's probe (its real path and version)
	// is kept between starts (see DiscoverCached); "" probes every time.
	ProbeCache string
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
	// TmpBytes caps a task's private temp dir, a tmpfs where tasks have mount namespaces of
	// their own (RUNWIRE_PYTHON_TMP_BYTES); 0 means 100 MiB.
	TmpBytes int64
	// MaxPayload bounds one frame from a child (N8N_RUNNERS_MAX_PAYLOAD).
	MaxPayload int64
	// Preload names modules the zygote imports before it forks (RUNWIRE_PYTHON_PRELOAD),
	// besides ExternalAllow's names; the allowlists still decide what user code may import.
	Preload []string
	// Prefork is how many children are kept forked and waiting; 0 means 2.
	Prefork int
	// MaxConcurrency is the most tasks that run at once; it sizes the pool.
	MaxConcurrency int
	// IdleRelease is how long no task must have run (after the last one, or after the boot)
	// before runwire returns its free heap memory to the operating system; 0 means 1 s, a
	// negative value never.
	IdleRelease time.Duration
	// Restart is how the supervisor restarts a zygote that ended.
	Restart Restart
	// ForkFaultForSpecs, when set, is asked before each fork runwire requests: "fail" makes
	// the zygote fail that fork as if os.fork had raised, "nohello" makes the child exit
	// before its hello, "" forks as usual. Specs use it to show that the pool refills and no
	// task fails; never set it otherwise. It must be safe for concurrent use.
	ForkFaultForSpecs func() string
	// Withdraw stops the offers of python tasks while the executor is Unavailable
	// (RUNWIRE_UNAVAILABLE=withdraw); by default they go on, and each task is answered at
	// once with the reason.
	Withdraw bool
	Logger   *slog.Logger
	// BestEffortWalls runs tasks with the walls the kernel gives (RUNWIRE_PYTHON_WALLS=
	// best-effort, logged loudly); by default (require) runwire offers no Python task when a
	// wall it expects is missing.
	BestEffortWalls bool
	// BreakLandlockForSpecs makes every child skip Landlock, as a kernel refusing it would:
	// specs use it to show that such a child gets no task. Never set it otherwise.
	BreakLandlockForSpecs bool
	// BreakProcForSpecs makes every child with namespaces keep the zygote's /proc, as a kernel
	// refusing to mount procfs would: specs use it to show that such a child gets no task.
	BreakProcForSpecs bool
	// RefuseProcProbeForSpecs, when not empty, is the refusal the zygote's probe of the
	// per-task procfs mount reports instead of trying it, as a container's kernel would:
	// specs use it to show that tasks then run with the zygote's /proc. Never set it otherwise.
	RefuseProcProbeForSpecs string
}

// n8n's messages for a child that ends without a result.
const (
	msgKilled   = "Process was forcefully killed (SIGKILL)"
	msgNoResult = "Process completed but returned no result. This is likely an internal error."
	msgNoRead   = "Failed to read result from child process"
	maxPrints   = 100
	cacheSize   = 500
)

// Executor runs "python" tasks. Start it once; its supervisor goroutine boots it in the
// background (finding the interpreter, warming the zygote) so that runwire registers without
// waiting, restarts the zygote whenever it ends, and says why when it cannot (see State). A
// task that arrives while the zygote starts waits for it. Safe for concurrent use.
type Executor struct {
	opts  Options
	log   *slog.Logger
	cache *analysisCache
	idle  *idleRelease
	// seccomp is the compiled filter for every zygote's config line, by whether tasks have
	// IPC namespaces of their own; nil (and the reason in seccompMissing) when there is no
	// program for this architecture.
	seccomp        [2]*seccompConfig
	seccompMissing string

	booted   chan struct{} // closed when the first attempt has ended, either way
	bootOnce sync.Once

	mu      sync.Mutex
	state   State
	z       *zygote // the zygote tasks use; nil unless Running
	last    *zygote // the latest zygote that ran, for Walls and Kill
	reason  error   // why Unavailable
	changed chan struct{}
	interp  Interpreter

	restarts atomic.Int64 // zygotes that ended and are replaced (Stats)

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
	if opts.TmpBytes <= 0 {
		opts.TmpBytes = 100 << 20
	}
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = 1 << 30
	}
	if opts.IdleRelease == 0 {
		opts.IdleRelease = defaultIdleRelease
	}
	opts.Restart = opts.Restart.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	e := &Executor{
		opts: opts, log: opts.Logger, cache: newAnalysisCache(cacheSize), booted: make(chan struct{}), cancel: cancel,
		idle: &idleRelease{after: opts.IdleRelease, log: opts.Logger}, changed: make(chan struct{}),
	}
	e.seccomp = [2]*seccompConfig{e.seccompFilter(false), e.seccompFilter(true)}
	// What killed runwires left behind goes in the background: a large leftover must not
	// hold up the boot.
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		removeLeftovers(e.log)
	}()
	e.wg.Add(1)
	go e.supervise(ctx)
	return e
}

// Walls says which isolation walls are in force around tasks.
type Walls struct {
	Namespaces []string // the zygote's namespaces: user, net, pid, ipc, mnt
	Identity   string   // the uid a task runs as, and what it holds
	Landlock   int      // Landlock ABI; 0 = none (writes and TCP are then not walled off)
	Network    bool     // tasks may use the network
	Cgroups    bool     // each task has its own pids cgroup (cap, and a sweep at the end)
	// TaskNamespaces: each task has PID, IPC and mount namespaces of its own, and a tmpfs of
	// TmpBytes as its temp dir; without, each task's init is a subreaper.
	TaskNamespaces bool
	TmpBytes       int64
	// ProcRefused, with TaskNamespaces, is why the kernel refused each task a procfs of its
	// own ("": each has one); the tasks then see the zygote's /proc, Landlock's reads in it
	// limited to the task's own entry.
	ProcRefused string
	Limits      Limits
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
	ll := landlockHolds(w.Landlock, w.Network)
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
	task := "a subreaper per task (its descendants killed when it ends); SysV IPC refused; temp dir on disk, removed in the background"
	if w.TaskNamespaces {
		proc := "/proc its own PID namespace's, hidepid=invisible"
		if w.ProcRefused != "" {
			proc = "/proc: the zygote's (a procfs of the task's own was refused: " + w.ProcRefused + "); "
			if w.Landlock > 0 {
				proc += "Landlock limits reads to the task's own entry"
			} else {
				proc += "without Landlock, reads in it are limited only by the task's uid"
			}
		}
		task = fmt.Sprintf("PID, IPC and mount namespaces per task (what it started ends with it; SysV IPC its own; %s; temp dir a %d-byte tmpfs)", proc, w.TmpBytes)
	}
	return fmt.Sprintf("process per task; identity: %s; namespaces: %s; %s; network: %v; landlock: %s; seccomp: %s; limits: memory %d B, cpu %d s, open files %d, file size %d B, processes %s",
		w.Identity, ns, task, w.Network, ll, sc, w.Limits.MemoryBytes, w.Limits.CPUSeconds, w.Limits.OpenFiles, w.Limits.FileSizeBytes, procs)
}

// Walls reports the isolation in force around the latest zygote that ran; it is meaningful
// once Ready has returned nil.
func (e *Executor) Walls() Walls {
	e.mu.Lock()
	z := e.last
	e.mu.Unlock()
	return e.wallsOf(z)
}

// wallsOf is Walls for zygote z (nil: none has run).
func (e *Executor) wallsOf(z *zygote) Walls {
	w := Walls{Network: e.opts.AllowNetwork, Limits: e.opts.Limits}
	w.SeccompMissing = "Python has not started"
	if z != nil {
		w.Namespaces, w.Landlock, w.Cgroups = z.spaces, z.landlock, z.cgroups != nil
		w.TaskNamespaces, w.TmpBytes, w.ProcRefused = z.taskNamespaces, e.opts.TmpBytes, z.procRefused
		w.Identity = z.identity.String()
		w.Seccomp, w.SeccompMissing = z.seccomp, e.seccompMissing
		if z.seccompRefused != "" {
			w.Seccomp, w.SeccompMissing = 0, "the kernel refused it: "+z.seccompRefused
		}
		// Without a network namespace (a Docker-like profile refuses it) the seccomp filter
		// still refuses every socket() but AF_UNIX's unless the network is allowed.
		w.Network = e.opts.AllowNetwork || (!slices.Contains(z.spaces, "net") && w.Seccomp == 0)
		if w.Seccomp > 0 {
			w.SeccompGroups = seccompGroups(taskSeccompPolicy(e.opts.AllowNetwork, z.taskNamespaces).Rules())
		}
	}
	return w
}

// seccompFor is the compiled filter for tasks with (taskIPC) or without IPC namespaces of
// their own.
func (e *Executor) seccompFor(taskIPC bool) *seccompConfig {
	if taskIPC {
		return e.seccomp[1]
	}
	return e.seccomp[0]
}

// seccompFilter compiles the tasks' seccomp policy for the zygote's config line; nil (and
// the reason in seccompMissing) when there is no program for this architecture.
func (e *Executor) seccompFilter(taskIPC bool) *seccompConfig {
	prog, err := taskSeccompPolicy(e.opts.AllowNetwork, taskIPC).Program()
	if err != nil {
		if e.seccompMissing == "" {
			e.log.Warn("Python tasks run without a seccomp filter: " + err.Error())
		}
		e.seccompMissing = err.Error()
		return nil
	}
	return &seccompConfig{Program: hex.EncodeToString(prog.Bytes()), Rules: prog.Rules}
}

// Available says whether the task manager should offer python tasks. By default always: a
// task that cannot run is answered at once with the reason, and one that arrives while the
// zygote starts waits for it. With Options.Withdraw (RUNWIRE_UNAVAILABLE=withdraw) only while a
// zygote runs, so that the broker gives the tasks to other runners meanwhile.
func (e *Executor) Available() bool {
	if !e.opts.Withdraw {
		return true
	}
	st, _ := e.State()
	return st == Running
}

// Ready blocks until the first start has ended, and says whether the executor can run tasks
// now (nil) or why not.
func (e *Executor) Ready(ctx context.Context) error {
	select {
	case <-e.booted:
	case <-ctx.Done():
		return ctx.Err()
	}
	switch st, reason := e.State(); st {
	case Running:
		return nil
	case Unavailable:
		return reason
	default:
		return errors.New("Python is " + st.String()) //nolint:staticcheck // a sentence
	}
}

// Close stops the supervisor, the zygote and every waiting child and removes the runtime
// directory. Tasks must have ended first (the task manager's Wait).
func (e *Executor) Close() {
	e.cancel()
	e.wg.Wait()
	e.idle.close()
}

// Kill is Close for a forced exit: it SIGKILLs the zygote (and so every task process, in its
// PID namespace) and removes the runtime directory, with the tasks' temp files, without
// waiting for tasks, processes or goroutines. The executor is unusable afterwards. A zygote
// still starting is left to die with runwire (PR_SET_PDEATHSIG).
func (e *Executor) Kill() {
	e.cancel() // no zygote after this one
	e.mu.Lock()
	z := e.last
	e.mu.Unlock()
	if z != nil {
		z.kill()
	}
}

// child waits for a zygote and takes a child from its pool; a zygote that ends meanwhile is
// replaced by the supervisor, and the wait goes on with the next one.
func (e *Executor) child(ctx context.Context) (*zygote, *child, error) {
	var stale *zygote
	for {
		z, err := e.current(ctx, stale)
		if err != nil {
			return nil, nil, err
		}
		c, err := z.take(ctx)
		if errors.Is(err, errZygoteExited) {
			stale = z
			continue
		}
		return z, c, err
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
	z, c, err := e.child(ctx)
	if err != nil {
		var un *UnavailableError
		if errors.As(err, &un) {
			return nil, &tasks.Error{Message: un.Error(), Description: ptr("")}
		}
		return nil, err
	}
	defer func() {
		z.served.Add(1)
		_ = c.conn.Close()
		if c.cgroup != "" {
			// Whatever the task left behind, setsid or not, goes with its cgroup.
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				z.cgroups.sweep(c.cgroup)
			}()
		}
	}()

	stopped := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(stopped)
		z.terminate(c)
	})
	defer func() {
		if !stop() {
			<-stopped // the termination has started: let it finish
		}
	}()

	if err := writeTaskFrame(c.conn, taskFrame{Type: "task", TaskID: task.ID, Settings: task.Settings, SkipAnalysis: analysed}); err != nil {
		return nil, e.crashed(ctx, z, c)
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
			return nil, e.crashed(ctx, z, c)
		}
		if result, ok := resultOf(body); ok {
			return result, nil // the frame's own bytes: no copy
		}
		var f childFrame
		if err := json.Unmarshal(body, &f); err != nil {
			return nil, &tasks.Error{Message: msgNoRead, Description: ptr("")}
		}
		switch f.Type {
		case "imports":
			logImports(e.log, task.ID, f.Modules)
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
			if f.Message == "" {
				// A child that escaped its language sandbox, or a runtime bug: never a
				// failure without words (child.py words every exception itself).
				f.Message = "The task failed without an error message"
			}
			te := &tasks.Error{Message: f.Message, Description: f.Description, Fatal: f.Fatal}
			if f.Fatal && f.Message == "Security violations detected" {
				e.cache.store(key, te)
			}
			return nil, te
		}
	}
}

// crashed explains a child that ended without a result, by how it ended.
func (e *Executor) crashed(ctx context.Context, z *zygote, c *child) error {
	if ctx.Err() != nil {
		return context.Cause(ctx) // the task manager reports why it stopped the task
	}
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-c.exit.done:
	case <-z.exited:
		// The zygote is the init of the tasks' PID namespace: its end ended the task.
		return &tasks.Error{Message: fmt.Sprintf("The Python process was %s while the task ran; runwire is starting a new one", z.exitReason()), Description: ptr("")}
	case <-t.C:
		return &tasks.Error{Message: msgNoRead, Description: ptr("")}
	}
	switch code := c.exit.code; {
	case code == -9 && e.opts.Limits.CPUSeconds > 0 && c.exit.cpu >= float64(e.opts.Limits.CPUSeconds):
		// The hard RLIMIT_CPU (a task that ignored SIGXCPU), or a stop that came after the
		// task had used up its CPU time: the limit is what ended it.
		return &tasks.Error{Message: fmt.Sprintf("Task used more than %d seconds of CPU time (RUNWIRE_PYTHON_CPU_SECONDS)", e.opts.Limits.CPUSeconds), Description: ptr("")}
	case code == -9:
		return &tasks.Error{Message: msgKilled, Description: ptr("")}
	case code == -int(syscall.SIGXCPU) && e.opts.Limits.CPUSeconds > 0:
		return &tasks.Error{Message: fmt.Sprintf("Task used more than %d seconds of CPU time (RUNWIRE_PYTHON_CPU_SECONDS)", e.opts.Limits.CPUSeconds), Description: ptr("")}
	case code == 0:
		return &tasks.Error{Message: msgNoResult, Description: ptr("")}
	case code < 0:
		sig := syscall.Signal(-code)
		return &tasks.Error{Message: fmt.Sprintf("Task subprocess exited with code %d (killed by signal %d, %s)", code, -code, signalName(sig)), Description: ptr("")}
	default:
		return &tasks.Error{Message: fmt.Sprintf("Task subprocess exited with code %d", code), Description: ptr("")}
	}
}

// signalName is a signal's conventional name and what it means: "SIGSEGV: segmentation fault".
func signalName(sig syscall.Signal) string {
	names := map[syscall.Signal]string{
		syscall.SIGSEGV: "SIGSEGV", syscall.SIGABRT: "SIGABRT", syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE",
		syscall.SIGILL: "SIGILL", syscall.SIGTERM: "SIGTERM", syscall.SIGXCPU: "SIGXCPU", syscall.SIGXFSZ: "SIGXFSZ",
		syscall.SIGSYS: "SIGSYS", syscall.SIGPIPE: "SIGPIPE", syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT",
		syscall.SIGUSR1: "SIGUSR1", syscall.SIGUSR2: "SIGUSR2", syscall.SIGALRM: "SIGALRM", syscall.SIGQUIT: "SIGQUIT",
		syscall.SIGKILL: "SIGKILL", syscall.SIGTRAP: "SIGTRAP",
	}
	if name, ok := names[sig]; ok {
		return name + ": " + sig.String()
	}
	return sig.String()
}

func ptr[T any](v T) *T { return &v }
