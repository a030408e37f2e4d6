package queue

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// process is one program the topology started, in a process group of its own, with its
// output appended to a log file.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	err     error // Wait's result, once exited is closed
}

// startProcess starts cmd in its own process group with stdout and stderr appended to
// logPath. cmd.SysProcAttr, if set, keeps its credential.
func startProcess(name, logPath string, cmd *exec.Cmd) (*process, error) {
	logf, err := os.OpenFile(logPath, //nolint:gosec // G304: a log in the topology's own folder
		os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	defer logf.Close() // the child holds its own copy
	cmd.Stdout, cmd.Stderr = logf, logf
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// Should the program that started the topology die without stopping it (SIGKILL), its
	// processes die too. (Go sets this after the credential change, which would clear it.)
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, logPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// PID is the process's id, which is also its process group's.
func (p *process) PID() int { return p.cmd.Process.Pid }

// Exited is closed once the process has ended.
func (p *process) Exited() <-chan struct{} { return p.exited }

// running reports whether the process has not ended yet.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends sig to the process group and waits up to timeout for the process to end, then
// kills the group. It returns an error when it had to kill.
func (p *process) stop(sig syscall.Signal, timeout time.Duration) error {
	if !p.running() {
		p.killGroup() // what it left behind in its group
		return nil
	}
	_ = syscall.Kill(-p.PID(), sig)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.exited:
		p.killGroup()
		return nil
	case <-t.C:
		p.kill()
		return fmt.Errorf("%s (pid %d) did not stop within %s of %s; killed", p.name, p.PID(), timeout, sig)
	}
}

// kill ends the process group at once and waits for the process.
func (p *process) kill() {
	p.killGroup()
	<-p.exited
}

// killGroup sends SIGKILL to the process group; ESRCH (nothing left in it) is fine.
func (p *process) killGroup() {
	_ = syscall.Kill(-p.PID(), syscall.SIGKILL)
}

// exitError says how the process ended, with the end of its log, for an error message.
func (p *process) exitError(what string) error {
	return fmt.Errorf("%s exited %s (%w); the end of %s:\n%s", p.name, what, p.err, p.logPath, logTail(p.logPath, 30))
}

// logTail returns the last n lines of the file at path.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path) //nolint:gosec // G304: a log in the topology's own folder
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
