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
	user, mount    bool // the namespaceSet's
	stdin          io.WriteCloser
	stdout, stderr *os.File // runwire's read ends; the zygote has the write ends
}

// namespaceSet is one way of walling the zygote (and so every task) off from the machine.
type namespaceSet struct {
	names []string
	flags uintptr
	user  bool // a user namespace, which makes the others possible without root
	// mount: a mount namespace of the zygote's own, in which it reveals the interpreter to
	// the task's uid (walls.reveal); only as root, whose zygote can mount there.
	mount bool
}

// namespaceSets are tried in order: the strongest first, then what root alone can do, then
// none (with a warning; refused under RUNWIRE_PYTHON_WALLS=require). Its own network namespace
// leaves a task only a loopback that is down; its own PID namespace keeps it from seeing or
// signalling runwire's processes by number, and ends every process of it when the zygote
// ends. As root the zygote also gets a mount namespace of its own.
func namespaceSets(allowNetwork, root bool) []namespaceSet {
	net := uintptr(syscall.CLONE_NEWNET)
	names := []string{"net"}
	if allowNetwork {
		net, names = 0, nil
	}
	base := net | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC
	names = append(names, "pid", "ipc")
	if root {
		base |= syscall.CLONE_NEWNS
		names = append(names, "mnt")
	}
	return []namespaceSet{
		{names: append([]string{"user"}, names...), flags: base | syscall.CLONE_NEWUSER, user: true, mount: root},
		{names: names, flags: base, mount: root},
		{},
	}
}

// spawnZygote starts the zygote in the strongest namespaces the kernel allows.
func spawnZygote(interp Interpreter, dir string, environ []string, allowNetwork bool, log *slog.Logger) (*spawned, error) {
	var errs []error
	for _, set := range namespaceSets(allowNetwork, os.Getuid() == 0) {
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
		attr.UidMappings, attr.GidMappings = userNamespaceMaps()
		// As root the map has a range, so setgroups stays allowed: each child empties its
		// groups with it before user code. Not root it must be denied to write the map.
		attr.GidMappingsEnableSetgroups = os.Getuid() == 0
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
	return &spawned{cmd: cmd, spaces: set.names, user: set.user, mount: set.mount, stdin: stdin, stdout: stdoutR, stderr: stderrR}, nil
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		if f != nil {
			_ = f.Close()
		}
	}
}
