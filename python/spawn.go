package python

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// capSysAdmin is CAP_SYS_ADMIN (linux/capability.h).
const capSysAdmin = 21

// spawned is a started zygote process and its pipes.
type spawned struct {
	cmd            *exec.Cmd
	spaces         []string
	stdin          io.WriteCloser
	stdout, stderr *os.File // runwire's read ends; the zygote has the write ends
}

// namespaceSet is one way of walling the zygote (and so every task) off from the machine.
type namespaceSet struct {
	names []string
	flags uintptr
	user  bool // a user namespace, which makes the others possible without root
}

// namespaceSets are tried in order: the strongest first, then what root alone can do, then
// none (with a warning). Its own network namespace leaves a task only a loopback that is down;
// its own PID namespace keeps it from seeing or signalling runwire's processes by number, and
// ends every process of it when the zygote ends.
func namespaceSets(allowNetwork bool) []namespaceSet {
	net := uintptr(syscall.CLONE_NEWNET)
	names := []string{"net"}
	if allowNetwork {
		net, names = 0, nil
	}
	base := net | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC
	names = append(names, "pid", "ipc")
	return []namespaceSet{
		{names: append([]string{"user"}, names...), flags: base | syscall.CLONE_NEWUSER, user: true},
		{names: names, flags: base},
		{},
	}
}

// spawnZygote starts the zygote in the strongest namespaces the kernel allows.
func spawnZygote(interp Interpreter, dir string, environ []string, allowNetwork bool, log *slog.Logger) (*spawned, error) {
	var errs []error
	for _, set := range namespaceSets(allowNetwork) {
		p, err := spawnIn(interp, dir, environ, set)
		if err == nil {
			if len(set.names) == 0 {
				log.Warn("Python tasks run without namespaces: the kernel refused them", "error", errors.Join(errs...).Error())
			}
			return p, nil
		}
		errs = append(errs, fmt.Errorf("namespaces [%s]: %w", strings.Join(set.names, ","), err))
	}
	return nil, fmt.Errorf("failed to start the Python zygote (%s): %w", interp.Path, errors.Join(errs...))
}

func spawnIn(interp Interpreter, dir string, environ []string, set namespaceSet) (*spawned, error) {
	// -I: ignore PYTHON* variables and the user's site; -S: no site-packages (the zygote adds
	// them when an external package is allowed); -B: write no .pyc files.
	cmd := exec.Command(interp.Path, "-I", "-S", "-B", filepath.Join(dir, "zygote.py")) //nolint:gosec // the resolved interpreter
	cmd.Env = environ
	cmd.Dir = dir
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Cloneflags: set.flags}
	if set.user {
		// Map runwire's own user and group onto themselves: files keep their owners, and
		// nothing gains a privilege outside.
		uid, gid := os.Getuid(), os.Getgid()
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
		attr.GidMappingsEnableSetgroups = false
		// CAP_SYS_ADMIN in the zygote's own user namespace (and nowhere else) survives the
		// exec also when runwire is not root: the zygote needs it to give each child PID, IPC
		// and mount namespaces of its own; every task process drops it (taskns).
		attr.AmbientCaps = []uintptr{capSysAdmin}
	}
	cmd.SysProcAttr = attr
	// stdout and stderr are pipes of runwire's own, not cmd's: Wait closes the read ends of
	// the pipes it made, and must not run while reads from them are pending (os/exec). With
	// these, the readers go on to EOF (the zygote's last lines, such as an error line, are
	// read) whenever Wait returns.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("failed to set up the Python zygote's pipes: %w", err)
	}
	stdoutR, stdoutW, err1 := os.Pipe()
	stderrR, stderrW, err2 := os.Pipe()
	if err := errors.Join(err1, err2); err != nil {
		closeAll(stdoutR, stdoutW, stderrR, stderrW)
		_ = stdin.Close()
		return nil, fmt.Errorf("failed to set up the Python zygote's pipes: %w", err)
	}
	cmd.Stdout, cmd.Stderr = stdoutW, stderrW
	err = cmd.Start()
	closeAll(stdoutW, stderrW) // the zygote has its copies
	if err != nil {
		closeAll(stdoutR, stderrR)
		_ = stdin.Close()
		return nil, err
	}
	return &spawned{cmd: cmd, spaces: set.names, stdin: stdin, stdout: stdoutR, stderr: stderrR}, nil
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			_ = f.Close()
		}
	}
}
