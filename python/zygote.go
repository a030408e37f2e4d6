package python

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// zygote is the warm Python process and the socket its children connect back to.
type zygote struct {
	log *slog.Logger
	cmd *exec.Cmd
	dir string
	ln  *net.UnixListener

	ctlMu sync.Mutex
	ctl   io.WriteCloser // the zygote's stdin

	cgroups  *taskCgroups  // nil: no per-task pids cgroups
	ready    chan struct{} // closed on the zygote's "ready"
	version  string
	landlock int // the kernel's Landlock ABI, as the zygote found it
	seccomp  int // the rules every child must report installed in its hello (0: no filter)
	// seccompRefused is why the zygote's trial of the filter failed ("" if it held).
	seccompRefused string
	spaces         []string    // the namespaces the zygote runs in
	children       chan *child // forked, connected, waiting for a task

	exitMu sync.Mutex
	exits  map[int]*exitNote // children whose exit someone waits for

	forkMu  sync.Mutex
	pending map[string]int // forked children that have not said hello yet: token → pid
	forked  chan struct{}  // closed and replaced whenever a token arrives

	wg     sync.WaitGroup
	exited chan struct{} // closed when the zygote process has ended
}

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
	done chan struct{}
	code int
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
	// Seccomp is the filter every child installs before its hello; nil: none (no program
	// for this architecture).
	Seccomp *seccompConfig `json:"seccomp,omitempty"`
}

// seccompConfig is a compiled SeccompPolicy as the config line carries it: the program as
// hex (Python decodes it with bytes.fromhex, no module needed) and its rule count, which
// each child reports back in its hello.
type seccompConfig struct {
	Program string `json:"program"`
	Rules   int    `json:"rules"`
}

// startZygote writes the runtime, listens for children and starts the zygote; it returns
// once the process runs (not once it is ready).
func startZygote(interp Interpreter, environ []string, cfg zygoteConfig, maxChildren int, cgroups *taskCgroups, log *slog.Logger) (*zygote, error) {
	dir, err := writeRuntime()
	if err != nil {
		return nil, err
	}
	cfg.Type = "config"
	cfg.Socket = filepath.Join(dir, "children.sock")
	cfg.TmpRoot = filepath.Join(dir, "tmp")
	if err := os.Mkdir(cfg.TmpRoot, 0o700); err != nil {
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
		ready: make(chan struct{}), children: make(chan *child, maxChildren),
		exits: map[int]*exitNote{}, exited: make(chan struct{}),
		pending: map[string]int{}, forked: make(chan struct{}),
	}
	if cfg.Seccomp != nil {
		z.seccomp = cfg.Seccomp.Rules
	}
	p, err := spawnZygote(interp, dir, withoutSecrets(environ), cfg.AllowNetwork, log)
	if err != nil {
		_ = ln.Close()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	z.cmd, z.spaces, z.ctl = p.cmd, p.spaces, p.stdin
	stdout, stderr := p.stdout, p.stderr
	z.wg.Add(4)
	go z.readControl(stdout)
	go z.logStderr(stderr)
	go z.accept()
	go func() {
		defer z.wg.Done()
		_ = z.cmd.Wait()
		close(z.exited)
	}()
	if err := z.send(cfg); err != nil {
		z.close()
		return nil, err
	}
	return z, nil
}

// withoutSecrets is runwire's environment minus the broker credentials: user code must never
// see them, whatever N8N_BLOCK_RUNNER_ENV_ACCESS says.
func withoutSecrets(environ []string) []string {
	secret := map[string]bool{
		"N8N_RUNNERS_GRANT_TOKEN": true, "N8N_RUNNERS_GRANT_TOKEN_FILE": true,
		"N8N_RUNNERS_AUTH_TOKEN": true, "N8N_RUNNERS_AUTH_TOKEN_FILE": true,
	}
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !secret[name] {
			out = append(out, kv)
		}
	}
	return out
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
		if err := z.send(map[string]string{"type": "fork"}); err != nil {
			return err
		}
	}
	return nil
}

// readControl follows the zygote's control lines until it exits.
func (z *zygote) readControl(r io.Reader) {
	defer z.wg.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4<<10), 1<<20) // the lines are short; the buffer grows for a long one
	for sc.Scan() {
		var m struct {
			Type    string `json:"type"`
			PID     int    `json:"pid"`
			Code    int    `json:"code"`
			Version string `json:"version"`
			Message string `json:"message"`
			Token   string `json:"token"`
			Walls   struct {
				Landlock     int    `json:"landlock"`
				Seccomp      int    `json:"seccomp"`
				SeccompError string `json:"seccompError"`
			} `json:"walls"`
		}
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			z.log.Warn("Unreadable line from the Python zygote", "size", len(sc.Bytes()))
			continue
		}
		switch m.Type {
		case "ready":
			z.version = m.Version
			z.landlock = m.Walls.Landlock
			if z.seccomp > 0 && m.Walls.Seccomp != z.seccomp {
				z.seccompRefused = m.Walls.SeccompError
				if z.seccompRefused == "" {
					z.seccompRefused = fmt.Sprintf("the zygote's trial installed %d rules of %d", m.Walls.Seccomp, z.seccomp)
				}
			}
			close(z.ready)
		case "forked":
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
				note.code = m.Code
				close(note.done)
			}
		case "forkfailed":
			z.log.Warn("The Python zygote could not fork a child: " + m.Message)
		case "error":
			z.log.Error("The Python zygote failed: " + m.Message)
		}
	}
}

// maxLogLine bounds one logged stderr line; the rest of a longer line is dropped.
const maxLogLine = 4096

// logStderr forwards what the zygote and its children write to stderr, at debug level: it is
// where user code's [user code] echo lines and Python's own complaints go. It never stops
// reading, whatever the lines' length: a full pipe would freeze every Python process.
func (z *zygote) logStderr(r io.Reader) {
	defer z.wg.Done()
	br := bufio.NewReaderSize(r, maxLogLine)
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
			z.log.Debug(string(line), "source", "python")
			line = line[:0]
		}
	}
}

// accept takes each forked child's connection and its hello, and puts it in the pool.
func (z *zygote) accept() {
	defer z.wg.Done()
	for {
		conn, err := z.ln.AcceptUnix()
		if err != nil {
			return // listener closed
		}
		// Each connection is checked on its own, so that one that stalls (a task posing as
		// a child, say) cannot hold up the real children.
		z.wg.Add(1)
		go func() {
			defer z.wg.Done()
			z.admit(conn)
		}()
	}
}

// admit checks a connection's hello and puts the child in the pool.
func (z *zygote) admit(conn *net.UnixConn) {
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
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
	hostPID, err := peerPID(conn)
	if err != nil {
		z.log.Warn("Could not tell which process a Python child is; dropping it", "error", err.Error())
		_ = conn.Close()
		return
	}
	if got := hello.Walls.Seccomp; got != z.seccomp {
		// Weaker than announced (or a filter it was not given): it never gets a task.
		z.log.Warn("A Python child reported other seccomp rules than it was given; killing it", "rules", got, "expected", z.seccomp)
		_ = syscall.Kill(hostPID, syscall.SIGKILL)
		_ = conn.Close()
		return
	}
	c := &child{pid: pid, hostPID: hostPID, conn: conn, exit: &exitNote{done: make(chan struct{})}}
	if z.cgroups != nil {
		if c.cgroup, err = z.cgroups.place(hostPID); err != nil {
			z.log.Debug("Could not give a Python child its own cgroup", "error", err.Error())
		}
	}
	z.exitMu.Lock()
	z.exits[pid] = c.exit
	z.exitMu.Unlock()
	select {
	case z.children <- c:
	default: // more children than asked for: let it go
		_ = conn.Close()
	}
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

// take returns a ready child, waiting for one as long as ctx allows.
func (z *zygote) take(ctx context.Context) (*child, error) {
	select {
	case c := <-z.children:
		return c, nil
	case <-z.exited:
		return nil, errors.New("the Python zygote has exited")
	case <-ctx.Done():
		return nil, context.Cause(ctx)
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

// peerPID is the connecting process's pid as runwire sees it (the child's own number is
// another one inside its PID namespace).
func peerPID(conn *net.UnixConn) (int, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if credErr != nil {
		return 0, credErr
	}
	return int(cred.Pid), nil
}

// close ends the zygote and every child still waiting, and removes the runtime directory.
// kill ends the zygote's process group at once and removes the runtime directory; it waits
// for nothing (a forced exit).
func (z *zygote) kill() {
	_ = syscall.Kill(-z.cmd.Process.Pid, syscall.SIGKILL)
	_ = os.RemoveAll(z.dir)
}

func (z *zygote) close() {
	z.ctlMu.Lock()
	_ = z.ctl.Close() // the zygote exits when its stdin closes
	z.ctlMu.Unlock()
	_ = z.ln.Close()
	for {
		select {
		case c := <-z.children:
			_ = c.conn.Close() // a waiting child exits when its connection ends
			continue
		default:
		}
		break
	}
	select {
	case <-z.exited:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-z.cmd.Process.Pid, syscall.SIGKILL)
	}
	z.wg.Wait()
	if z.cgroups != nil {
		z.cgroups.close()
	}
	_ = os.RemoveAll(z.dir)
}
