package python

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strconv"
	"strings"
)

// MinVersion is the oldest Python runwire runs tasks with.
var MinVersion = [2]int{3, 9}

// Interpreter is a resolved Python: the real executable, not a shim in front of it.
type Interpreter struct {
	Path    string
	Version string // e.g. "3.11.7"
}

// Discover resolves the interpreter: configured (RUNWIRE_PYTHON) or python3 on PATH. It asks
// the interpreter for its own sys.executable once, so that later starts skip shims such as
// pyenv's (300 ms each here). The error names the setting to change.
func Discover(ctx context.Context, configured string) (Interpreter, error) {
	name, setting := configured, "RUNWIRE_PYTHON"
	if name == "" {
		name, setting = "python3", "python3 on PATH (or set RUNWIRE_PYTHON)"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return Interpreter{}, lookupError(configured, err)
	}
	const probe = "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])"
	cmd := exec.CommandContext(ctx, path, "-I", "-c", probe) //nolint:gosec // the interpreter is the configured one
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return Interpreter{}, fmt.Errorf("the Python interpreter %s (%s) does not run: %w: %s", path, setting, err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		return Interpreter{}, fmt.Errorf("the Python interpreter %s (%s) answered %q to a version probe", path, setting, out.String())
	}
	in := Interpreter{Path: strings.TrimSpace(lines[0]), Version: strings.TrimSpace(lines[1])}
	if in.Path == "" {
		in.Path = path
	}
	if err := checkVersion(in.Version); err != nil {
		return Interpreter{}, fmt.Errorf("the Python interpreter %s (%s): %w", in.Path, setting, err)
	}
	return in, nil
}

// lookupError words a failed lookup as a setting to fix: "RUNWIRE_PYTHON=/opt/py/bin/python3
// does not exist".
func lookupError(configured string, err error) error {
	switch {
	case configured == "":
		return fmt.Errorf("python3 is not on PATH; install Python %d.%d or newer, or set RUNWIRE_PYTHON to one: %w", MinVersion[0], MinVersion[1], err)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("RUNWIRE_PYTHON=%s does not exist", configured)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("RUNWIRE_PYTHON=%s is not executable", configured)
	default:
		return fmt.Errorf("RUNWIRE_PYTHON=%s cannot be used: %w", configured, err)
	}
}

func checkVersion(v string) error {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return fmt.Errorf("unreadable version %q", v)
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("unreadable version %q", v)
	}
	if major < MinVersion[0] || (major == MinVersion[0] && minor < MinVersion[1]) {
		return fmt.Errorf("version %s is too old: runwire needs Python %d.%d or newer", v, MinVersion[0], MinVersion[1])
	}
	return nil
}
