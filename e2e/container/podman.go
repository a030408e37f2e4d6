package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Podman is the podman command line every call starts with: runc, because crun is refused on
// cgroup-v1-hybrid hosts such as CI's.
var Podman = []string{"podman", "--runtime", "runc"}

// Ulimits are passed to every container: podman's defaults are refused on such hosts too.
var Ulimits = []string{"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"}

// Unavailable says why the container specs cannot run on this machine, or is "" when they can.
// They need Linux and root: rootful podman with runc (a rootless one needs a delegated cgroup
// v2, which cgroup-v1-hybrid hosts lack), and build-image.sh installs podman with apt-get.
func Unavailable() string {
	switch {
	case runtime.GOOS != "linux":
		return "the container specs run podman, which needs Linux"
	case os.Geteuid() != 0:
		return "the container specs need root: they build and run the image with rootful podman (runc), and install podman with apt-get when it is missing"
	}
	return ""
}

// Build runs the image build script (e2e/scripts/build-image.sh) and returns the tag it prints.
// Its progress goes to log.
func Build(ctx context.Context, script string, log io.Writer) (string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, script)
	cmd.Stdout, cmd.Stderr = &out, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("container: %s failed (its output is above): %w", script, err)
	}
	tag := strings.TrimSpace(out.String())
	if tag == "" || strings.ContainsAny(tag, " \n") {
		return "", fmt.Errorf("container: %s printed %q, not an image tag", script, out.String())
	}
	return tag, nil
}

// Command is `podman --runtime runc args...`.
func Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, Podman[0], append(Podman[1:], args...)...) //nolint:gosec // G204: the specs choose the arguments
}

// Output runs podman with args and returns its standard output; its standard error is in the
// error when it fails.
func Output(ctx context.Context, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := Command(ctx, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return string(out), fmt.Errorf("container: podman %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return string(out), fmt.Errorf("container: podman %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}
