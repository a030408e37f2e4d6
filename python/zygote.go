package python

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// zygote is the warm Python process and the socket its children connect back to. The
// executor's supervisor starts one, and starts another when it ends; everything here belongs
// to one process's life.
type zygote struct {
	log  *slog.Logger
	cmd  *exec.Cmd
	dir  string
	lock *os.File // an flock on dir while runwire lives (removeLeftovers)
	ln   *net.UnixListener

	ctlMu sync.Mutex
	ctl   io.WriteCloser // the zygote's stdin

	stdout, stderr *os.File // runwire's read ends of the zygote's pipes

	cgroups   *taskCgroups  // nil: no per-task pids cgroups
	ready     chan struct{} // closed on the zygote's first "ready"
	readyOnce sync.Once
	version   string
	preload   *preloadReport // what the zygote's preloads did (nil: it had none)
	landlock  int            // the kernel's Landlock ABI, as the zygote found it
	seccomp   int            // the rules every child must report installed in its hello (0: no filter)
	// landlockRules is the size of the rule set every child must report applied (0: no
	// Landlock expected: the kernel has none, or the config asks for none).
	landlockRules int
	identity      taskIdentity // what every child must be once it has said hello
	mount         bool         // the zygote has a mount namespace of its own (revealing the interpreter)
	// refused is closed, and refusal set, once a child turned out weaker than the zygote
	// announced: from then on no task runs (fail closed).
	refuseOnce sync.Once
	refused    chan struct{}
	refusal    error
	// seccompRefused is why the zygote's trial of the filter failed ("" if it held).
	seccompRefused string
	spaces         []string // the namespaces the zygote runs in
	pool           *pool    // forked, connected children waiting for a task
	served         atomic.Int64
	admitting      chan struct{} // one token per connection being admitted (a bounded number)
	// taskNamespaces: every child must report PID, IPC and mount namespaces of its own (the
	// zygote has namespaces); taskNamespacesRefused is why the zygote could not make them.
	taskNamespaces        bool
	taskNamespacesRefused string
	// ownProc: the zygote's probe mounted a procfs of a task's own, so every child must have
	// one; procRefused is why the kernel refused it (the tasks keep the zygote's /proc).
	ownProc     bool
	procRefused string
	tmpRoot     string         // the tasks' temp dirs are beneath it
	tmps        map[int]string // forked children's temp dir names, by pid
	forkFault   func() string  // Options.ForkFaultForSpecs; nil in production

	exitMu sync.Mutex
	exits  map[int]*exitNote // children whose exit someone waits for

	forkMu  sync.Mutex
	pending map[string]int // forked children that have not said hello yet: token → pid
	forked  chan struct{}  // closed and replaced whenever a token arrives
	known   map[int]bool   // host pids of the admitted children still alive

	tailMu sync.Mutex
	tail   []string // the zygote's last stderr lines, for the report of its end

	wg          sync.WaitGroup
	controlDone chan struct{} // closed when the control reader has read to EOF
	stderrDone  chan struct{} // closed when the stderr reader has ended
	exited      chan struct{} // closed when the zygote process has ended (and exitState is set)
	exitState   *os.ProcessState
}

// maxAdmits bounds the connections to the child socket checked at once: a child's hello comes
// at once, and a process that is no forked child is dropped before any goroutine starts.
const maxAdmits = 8

// helloTimeout bounds the wait for a connected child's hello.
const helloTimeout = 5 * time.Second

// tailLines is how many of the zygote's last stderr lines its exit report quotes.
const tailLines = 5

// child is one forked Python process waiting for, or running, its one task. pid is the
// child's own view (the zygote's PID namespace, where exits are reported); hostPID is runwire's
// view, from the socket's peer credentials, and is what runwire signals.
type child struct {
	pid     int
	hostPID int
	conn    *net.UnixConn
	exit    *exitNote
	cgroup  string // its own pids cgroup, "" if none
}

// exitNote is closed when the child has ended; code then says how (n8n's convention:
// negative = the signal).
type exitNote struct {
	done    chan struct{}
	code    int
	cpu     float64 // CPU seconds it used, its own children's included
	hostPID int
}

// zygoteConfig is the first control line, as docs/python-executor.md describes it.
type zygoteConfig struct {
	Type                   string   `json:"type"`
	Socket                 string   `json:"socket"`
	StdlibAllow            []string `json:"stdlibAllow"`
	ExternalAllow          []string `json:"externalAllow"`
	BuiltinsDeny           []string `json:"builtinsDeny"`
	BlockEnvAccess         bool     `json:"blockEnvAccess"`
	EnvAllow               []string `json:"envAllow"`
	AllowTransitiveImports bool     `json:"allowTransitiveImports"`
	Limits                 Limits   `json:"limits"`
	MaxPrints              int      `json:"maxPrints"`
	MaxPayload             int64    `json:"maxPayload"` // N8N_RUNNERS_MAX_PAYLOAD: the child refuses a result the broker would
	TmpRoot                string   `json:"tmpRoot"`
	AllowNetwork           bool     `json:"allowNetwork"`
	Landlock               bool     `json:"landlock"`
	// TaskNamespaces: each child gets PID, IPC and mount namespaces of its own and its temp
	// dir is a tmpfs of TmpBytes (set by startZygote: wherever the zygote has namespaces).
	TaskNamespaces bool  `json:"taskNamespaces"`
	TmpBytes       int64 `json:"tmpBytes"`
	// SeccompFor compiles the filter for whether tasks have IPC namespaces of their own;
	// startZygote sets Seccomp from it once it knows.
	SeccompFor    func(taskIPC bool) *seccompConfig `json:"-"`
	BreakLandlock bool                              `json:"breakLandlock,omitempty"` // Options.BreakLandlockForSpecs
	BreakProc     bool                              `json:"breakProc,omitempty"`     // Options.BreakProcForSpecs
	// RefuseProcProbe is the refusal the zygote's probe of the procfs mount reports instead
	// of trying it (Options.RefuseProcProbeForSpecs).
	RefuseProcProbe string `json:"refuseProcProbe,omitempty"`
	// Identity is the uid and gid each child takes before its hello, in the zygote's user
	// namespace (absent: runwire is not root and the child keeps its uid); Reveal says that
	// the zygote has a mount namespace of its own to reveal the interpreter to that uid in.
	Identity *identityIDs `json:"identity,omitempty"`
	Reveal   bool         `json:"reveal,omitempty"`
	// Seccomp is the filter every child installs before its hello; nil: none (no program
	// for this architecture).
	Seccomp *seccompConfig `json:"seccomp,omitempty"`
	// Preload is what the zygote imports before it forks (preloadNames).
	Preload []string `json:"preload,omitempty"`
	// forkFault is Options.ForkFaultForSpecs (not sent: each fork line carries its fault).
	forkFault func() string
}

// seccompConfig is a compiled SeccompPolicy as the config line carries it: the program as
// hex (Python decodes it with bytes.fromhex, no module needed) and its rule count, which
// each child reports back in its hello.
type seccompConfig struct {
	Program string `json:"program"`
	Rules   int    `json:"rules"`
}

// startZygote writes the runtime, listens for children and starts the zygote; it returns
// once the process runs (not once it is ready). The pool is filled to poolSize once the
// zygote is ready.
func startZygote(interp Interpreter, environ []string, cfg zygoteConfig, poolSize int, cgroups *taskCgroups, log *slog.Logger) (*zygote, error) {
	dir, err := writeRuntime()
	if err != nil {
		return nil, err
	}
	lock, err := lockRuntime(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("failed to lock the Python runtime directory %s: %w", dir, err)
	}
	defer func() {
		if lock != nil { // startZygote failed
			_ = lock.Close()
		}
	}()
	cfg.Type = "config"
	cfg.Socket = filepath.Join(dir, "children.sock")
	cfg.TmpRoot = filepath.Join(dir, "tmp")
	home := filepath.Join(dir, "home")
	if err := errors.Join(os.Mkdir(cfg.TmpRoot, 0o700), os.Mkdir(home, 0o700), openToTasks(dir, cfg.TmpRoot, home)); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("failed to create the tasks' temp root: %w", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: cfg.Socket, Net: "unix"})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("failed to listen for Python children on %s: %w", cfg.Socket, err)
	}
	z := &zygote{
		log: log, dir: dir, ln: ln, cgroups: cgroups,
		ready: make(chan struct{}), pool: newPool(poolSize), admitting: make(chan struct{}, maxAdmits),
		exits: map[int]*exitNote{}, exited: make(chan struct{}), controlDone: make(chan struct{}), stderrDone: make(chan struct{}),
		pending: map[string]int{}, forked: make(chan struct{}), known: map[int]bool{}, refused: make(chan struct{}),
		tmpRoot: cfg.TmpRoot, tmps: map[int]string{}, lock: lock, forkFault: cfg.forkFault,
	}
	p, err := spawnZygote(interp, dir, zygoteEnviron(environ, cfg.BlockEnvAccess, cfg.EnvAllow, home), cfg.AllowNetwork, log)
	if err != nil {
		_ = ln.Close()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	cfg.TaskNamespaces = len(p.spaces) > 0
	z.taskNamespaces = cfg.TaskNamespaces
	if cfg.SeccompFor != nil {
		cfg.Seccomp = cfg.SeccompFor(cfg.TaskNamespaces)
	}
	if cfg.Seccomp != nil {
		z.seccomp = cfg.Seccomp.Rules
	}
	z.identity, z.mount = identityFor(p.user), p.mount
	cfg.Identity, cfg.Reveal = z.identity.Inside, p.mount
	z.cmd, z.spaces, z.ctl = p.cmd, p.spaces, p.stdin
	z.stdout, z.stderr = p.stdout, p.stderr
	z.wg.Add(5)
	go z.readControl()
	go z.logStderr()
	go z.accept()
	go z.keep()
	go z.await()
	if err := z.send(cfg); err != nil {
		// A broken pipe here is most likely the zygote already gone (killed as it started,
		// as whatever killed the last one may do again): report it as an exit during start-up,
		// which the supervisor retries, not as a failure that stays.
		t := time.NewTimer(2 * time.Second)
		select {
		case <-z.exited:
			err = &startupExit{reason: z.exitReason(), stderr: orNothing(z.stderrTail())}
		case <-t.C:
		}
		t.Stop()
		z.close()
		return nil, err
	}
	lock = nil // the zygote's now: close releases it
	return z, nil
}

// openToTasks lets the task uid pass through runwire's runtime directory to its private temp
// dir, when runwire is root and tasks run as python.TaskUID: each directory's group becomes the
// task gid, with only the execute bit (no listing, no writing; the task's own temp dir is
// made and chowned to it by its child).
func openToTasks(dirs ...string) error {
	if os.Getuid() != 0 {
		return nil
	}
	for _, d := range dirs {
		if err := os.Chown(d, 0, TaskUID); err != nil {
			return err
		}
		if err := os.Chmod(d, 0o710); err != nil { //nolint:gosec // the task gid may only pass through: no read, no write
			return err
		}
	}
	return nil
}

// removeTmp removes an ended child's temp dir in the background, off the zygote's fork path
// and with no depth limit (os.RemoveAll never follows a symbolic link). Where the task had a
// tmpfs of its own it went with the task's mount namespace, and the directory is empty.
func (z *zygote) removeTmp(name string) {
	z.wg.Add(1)
	go func() {
		defer z.wg.Done()
		if err := os.RemoveAll(filepath.Join(z.tmpRoot, name)); err != nil {
			z.log.Debug("Could not remove a Python task's temp dir", "error", err.Error())
		}
	}()
}

// send writes one control line.
func (z *zygote) send(v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	z.ctlMu.Lock()
	defer z.ctlMu.Unlock()
	if _, err := z.ctl.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("failed to talk to the Python zygote: %w", err)
	}
	return nil
}

// fork asks for n more children.
func (z *zygote) fork(n int) error {
	for range n {
		line := map[string]string{"type": "fork"}
		if z.forkFault != nil {
			if fault := z.forkFault(); fault != "" {
				line["fault"] = fault
			}
		}
		if err := z.send(line); err != nil {
			return err
		}
	}
	return nil
}

// await waits for the zygote's end, then for its control lines to the end (bounded: a
// process it left behind may hold the pipe), so that whoever sees exited also has its last
// lines.
func (z *zygote) await() {
	defer z.wg.Done()
	_ = z.cmd.Wait() // the pipes are runwire's own: Wait closes none of them
	grace := time.NewTimer(time.Second)
	defer grace.Stop()
	select {
	case <-z.controlDone:
	case <-grace.C:
		_ = z.stdout.Close() // ends the reader
		<-z.controlDone
	}
	select {
	case <-z.stderrDone: // its last lines are in the tail
	case <-grace.C:
	}
	z.exitState = z.cmd.ProcessState
	close(z.exited)
}

// exitReason says how the zygote ended (after exited): "killed by signal 9 (killed)",
// "exit code 1".
func (z *zygote) exitReason() string {
	return describeExit(z.exitState)
}

// describeExit words a process's end.
func describeExit(st *os.ProcessState) string {
	if st == nil {
		return "unknown"
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Sprintf("exit code %d", st.ExitCode())
}

// stderrTail is the zygote's last stderr lines, joined with " | ".
func (z *zygote) stderrTail() string {
	z.tailMu.Lock()
	defer z.tailMu.Unlock()
	return strings.Join(z.tail, " | ")
}

// readControl follows the zygote's control lines to EOF.
func (z *zygote) readControl() {
	defer z.wg.Done()
	defer close(z.controlDone)
	sc := bufio.NewScanner(z.stdout)
	sc.Buffer(make([]byte, 4<<10), 1<<20) // the lines are short; the buffer grows for a long one
	for sc.Scan() {
		var m struct {
			Type    string  `json:"type"`
			PID     int     `json:"pid"`
			Code    int     `json:"code"`
			CPU     float64 `json:"cpu"`
			Version string  `json:"version"`
			Message string  `json:"message"`
			Token   string  `json:"token"`
			Tmp     string  `json:"tmp"`
			Walls   struct {
				Landlock            int    `json:"landlock"`
				LandlockRules       int    `json:"landlockRules"`
				Seccomp             int    `json:"seccomp"`
				SeccompError        string `json:"seccompError"`
				TaskNamespaces      *bool  `json:"taskNamespaces"`
				TaskNamespacesError string `json:"taskNamespacesError"`
				Proc                string `json:"proc"`
				ProcError           string `json:"procError"`
			} `json:"walls"`
			Preload *preloadReport `json:"preload"`
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			z.log.Warn("Unreadable line from the Python zygote", "size", len(sc.Bytes()))
			continue
		}
		switch m.Type {
		case "ready":
			z.readyOnce.Do(func() {
				z.version, z.preload = m.Version, m.Preload
				z.landlock, z.landlockRules = m.Walls.Landlock, m.Walls.LandlockRules
				if z.seccomp > 0 && m.Walls.Seccomp != z.seccomp {
					z.seccompRefused = m.Walls.SeccompError
					if z.seccompRefused == "" {
						z.seccompRefused = fmt.Sprintf("the zygote's trial installed %d rules of %d", m.Walls.Seccomp, z.seccomp)
					}
				}
				if z.taskNamespaces && (m.Walls.TaskNamespaces == nil || !*m.Walls.TaskNamespaces) {
					z.taskNamespacesRefused = m.Walls.TaskNamespacesError
					if z.taskNamespacesRefused == "" {
						z.taskNamespacesRefused = "the zygote did not report them"
					}
				}
				if z.taskNamespaces && z.taskNamespacesRefused == "" {
					z.ownProc = m.Walls.Proc != ""
					if !z.ownProc {
						z.procRefused = m.Walls.ProcError
						if z.procRefused == "" {
							z.procRefused = "the zygote did not report its probe"
						}
					}
				}
				close(z.ready)
			})
		case "forked":
			if m.Tmp != "" && !strings.ContainsAny(m.Tmp, "/.") {
				z.tmps[m.PID] = m.Tmp
			}
			z.forkMu.Lock()
			z.pending[m.Token] = m.PID
			close(z.forked)
			z.forked = make(chan struct{})
			z.forkMu.Unlock()
		case "exit":
			z.exitMu.Lock()
			note := z.exits[m.PID]
			delete(z.exits, m.PID)
			z.exitMu.Unlock()
			if note != nil {
				z.forkMu.Lock()
				delete(z.known, note.hostPID)
				z.forkMu.Unlock()
				note.code, note.cpu = m.Code, m.CPU
				close(note.done)
				z.pool.remove(m.PID) // if it was still waiting for a task
			} else if z.forgetPending(m.PID) {
				z.log.Warn("A Python child died before its hello", "code", m.Code)
				z.pool.lost(false)
			}
			if name, ok := z.tmps[m.PID]; ok {
				delete(z.tmps, m.PID)
				z.removeTmp(name)
			}
		case "forkfailed":
			z.log.Warn("The Python zygote could not fork a child: " + m.Message)
			z.pool.lost(true)
		case "error":
			z.log.Error("The Python zygote failed: " + m.Message)
		}
	}
}

// maxLogLine bounds one logged stderr line; the rest of a longer line is dropped.
const maxLogLine = 4096

// maxTailLine bounds one line of the exit report's stderr tail.
const maxTailLine = 300

// logStderr forwards what the zygote and its children write to stderr, at debug level: it is
// where Python's own complaints and a child's before its task go (user code's fd 1 and 2 are
// /dev/null: walls.silence_output). It never stops
// reading, whatever the lines' length: a full pipe would freeze every Python process. It keeps
// the last lines for the report of the zygote's end.
func (z *zygote) logStderr() {
	defer z.wg.Done()
	defer close(z.stderrDone)
	br := bufio.NewReaderSize(z.stderr, maxLogLine)
	var line []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if len(line) < maxLogLine {
			line = append(line, chunk[:min(len(chunk), maxLogLine-len(line))]...)
		}
		if err != nil {
			return
		}
		if !isPrefix {
			text := string(line)
			z.log.Debug(text, "source", "python")
			// The tail is logged at WARN when the zygote ends: a task's own output (its
			// print echo, what it wrote to stderr) stays at debug.
			if !strings.HasPrefix(text, "[user code]") && !strings.HasPrefix(text, "runwire python child") {
				z.tailMu.Lock()
				if len(z.tail) == tailLines {
					z.tail = z.tail[1:]
				}
				z.tail = append(z.tail, text[:min(len(text), maxTailLine)])
				z.tailMu.Unlock()
			}
			line = line[:0]
		}
	}
}

// accept takes each forked child's connection and its hello, and puts it in the pool. A
// connection is first checked by its peer's credentials, at once and without a goroutine: only
// a process of runwire's uid that the zygote forked and that has not connected before is
// admitted (a task, or a process it starts, is dropped on the spot however many times it
// connects); then at most maxAdmits hellos are awaited at once.
func (z *zygote) accept() {
	defer z.wg.Done()
	for {
		conn, err := z.ln.AcceptUnix()
		if err != nil {
			return // listener closed
		}
		hostPID, why := z.stranger(conn)
		if why != "" {
			z.log.Debug("Dropped a connection to the Python child socket: "+why, "pid", hostPID)
			_ = conn.Close()
			continue
		}
		select {
		case z.admitting <- struct{}{}:
		default:
			z.log.Debug("Dropped a connection to the Python child socket: too many at once", "pid", hostPID)
			_ = conn.Close()
			continue
		}
		// Each connection is checked on its own, so that one that stalls cannot hold up the
		// real children.
		z.wg.Add(1)
		go func() {
			defer z.wg.Done()
			defer func() { <-z.admitting }()
			z.admit(conn, hostPID)
		}()
	}
}

// stranger checks a connection's peer (SO_PEERCRED): its host pid, and why it is not a
// forked child awaiting admission ("" if it may be one).
func (z *zygote) stranger(conn *net.UnixConn) (int, string) {
	cred, err := peerCred(conn)
	if err != nil {
		return 0, "no peer credentials: " + err.Error()
	}
	pid := int(cred.Pid)
	if cred.Uid != uint32(os.Getuid()) { //nolint:gosec // uids fit
		return pid, fmt.Sprintf("uid %d is not runwire's", cred.Uid)
	}
	// The task process says hello; its parent, the task's init, is the zygote's child.
	ppid, err := parentPID(pid)
	if err == nil {
		ppid, err = parentPID(ppid)
	}
	if err != nil || ppid != z.cmd.Process.Pid {
		return pid, "not a task process of a child of the zygote"
	}
	z.forkMu.Lock()
	again := z.known[pid]
	z.forkMu.Unlock()
	if again {
		return pid, "a child that was admitted already"
	}
	return pid, ""
}

// parentPID reads a process's parent from /proc/<pid>/stat.
func parentPID(pid int) (int, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses: cut at the last ')'.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return 0, errors.New("unreadable stat")
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 2 {
		return 0, errors.New("unreadable stat")
	}
	return strconv.Atoi(fields[1])
}

// admit checks a connection's hello and puts the child in the pool.
func (z *zygote) admit(conn *net.UnixConn, hostPID int) {
	_ = conn.SetReadDeadline(time.Now().Add(helloTimeout))
	body, err := readFrame(conn, 1<<16)
	var hello childFrame
	if err == nil {
		err = json.Unmarshal(body, &hello)
	}
	pid := 0
	if err == nil && hello.Type == "hello" {
		pid = z.claim(hello.Token)
	}
	if pid == 0 {
		z.log.Warn("A process connected as a Python child without being one the zygote forked; dropping it")
		_ = conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	if z.taskNamespaces && hello.Walls.Task != "namespaces" {
		z.log.Warn("A Python child has no PID, IPC and mount namespaces of its own; killing it", "task", hello.Walls.Task)
		_ = syscall.Kill(hostPID, syscall.SIGKILL)
		_ = conn.Close()
		z.pool.lost(false)
		return
	}
	if short := z.checkChild(hostPID, hello.Walls); short != "" {
		// Weaker than announced: it never gets a task, and neither does any other (fail
		// closed): the wall that failed here would fail for the next child too.
		z.refuse(hostPID, short)
		_ = conn.Close()
		z.pool.lost(false)
		return
	}
	c := &child{pid: pid, hostPID: hostPID, conn: conn, exit: &exitNote{done: make(chan struct{}), hostPID: hostPID}}
	if z.cgroups != nil {
		if c.cgroup, err = z.cgroups.place(hostPID); err != nil {
			z.refuse(hostPID, "runwire could not give it its own cgroup: "+err.Error())
			_ = conn.Close()
			z.pool.lost(false)
			return
		}
	}
	z.forkMu.Lock()
	z.known[hostPID] = true
	z.forkMu.Unlock()
	z.exitMu.Lock()
	z.exits[pid] = c.exit
	z.exitMu.Unlock()
	z.pool.add(c)
}

// forgetPending drops a forked child that has not said hello (it died), and says whether
// there was one.
func (z *zygote) forgetPending(pid int) bool {
	z.forkMu.Lock()
	defer z.forkMu.Unlock()
	for token, p := range z.pending {
		if p == pid {
			delete(z.pending, token)
			return true
		}
	}
	return false
}

// claim accepts a hello's token once, if the zygote announced it, and returns the pid the
// zygote forked it as (0: refused). The hello may beat the zygote's "forked" line by a little.
func (z *zygote) claim(token string) int {
	if token == "" {
		return 0
	}
	deadline := time.After(2 * time.Second)
	for {
		z.forkMu.Lock()
		if pid, ok := z.pending[token]; ok {
			delete(z.pending, token)
			z.forkMu.Unlock()
			return pid
		}
		wait := z.forked
		z.forkMu.Unlock()
		select {
		case <-wait:
		case <-deadline:
			return 0
		case <-z.exited:
			return 0
		}
	}
}

// terminate stops a child and everything it started: SIGTERM to its process group, a second
// for it to go, then SIGKILL to the group whether or not the task process itself has gone (a
// process it forked may ignore SIGTERM), the cgroup swept, and the connection closed so that
// nothing left holding it can keep runwire waiting.
func (z *zygote) terminate(c *child) {
	_ = syscall.Kill(-c.hostPID, syscall.SIGTERM)
	select {
	case <-c.exit.done:
	case <-time.After(time.Second):
	}
	_ = syscall.Kill(-c.hostPID, syscall.SIGKILL)
	if c.cgroup != "" {
		z.cgroups.sweep(c.cgroup)
	}
	_ = c.conn.Close()
}

// peerCred is the connecting process's credentials as runwire sees them (the child's own
// pid is another one inside its PID namespace).
func peerCred(conn *net.UnixConn) (*syscall.Ucred, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	return cred, credErr
}

// kill ends the zygote's process group at once and removes the runtime directory; it waits
// for nothing (a forced exit).
func (z *zygote) kill() {
	_ = syscall.Kill(-z.cmd.Process.Pid, syscall.SIGKILL)
	_ = os.RemoveAll(z.dir)
	_ = z.lock.Close()
}

// close ends the zygote and every child still waiting, and removes the runtime directory.
func (z *zygote) close() {
	z.ctlMu.Lock()
	_ = z.ctl.Close() // the zygote exits when its stdin closes
	z.ctlMu.Unlock()
	_ = z.ln.Close()
	for _, c := range z.pool.drain() {
		_ = c.conn.Close() // a waiting child exits when its connection ends
	}
	select {
	case <-z.exited:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-z.cmd.Process.Pid, syscall.SIGKILL)
		<-z.exited
	}
	// A process the zygote left behind may hold stderr open: its reader ends here.
	_ = z.stderr.Close()
	z.wg.Wait()
	if z.cgroups != nil {
		z.cgroups.close()
	}
	_ = os.RemoveAll(z.dir)
	_ = z.lock.Close()
}
