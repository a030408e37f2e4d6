package jail

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccomp installs prog with SECCOMP_FILTER_FLAG_TSYNC, so that every thread of the Go
// runtime has it, not only the one that execs.
func seccomp(prog *unix.SockFprog) error {
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(prog))) //nolint:gosec // the kernel reads the filter during the call
	if errno != 0 {
		return errno
	}
	return nil
}

// lookPath finds name in env's PATH (the command's environment, not the jail's).
func lookPath(name string, env []string) (string, error) {
	dirs := "/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			dirs = v
		}
	}
	for _, dir := range filepath.SplitList(dirs) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("jail: " + name + " is not on PATH")
}
