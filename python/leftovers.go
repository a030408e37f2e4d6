package python

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runtimePrefix names runwire's runtime directories under the system temp directory.
const runtimePrefix = "runwire-python-"

// lockRuntime holds an exclusive flock on a runtime directory for as long as the returned
// file is open: it tells removeLeftovers that a live runwire uses the directory. The
// descriptor is close-on-exec, so no Python process holds it.
func lockRuntime(dir string) (*os.File, error) {
	f, err := os.Open(dir) //nolint:gosec // runwire's own directory
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// removeLeftovers removes what runwire processes that no longer exist left behind (a killed
// runwire cannot clean up): runtime directories of this user under the system temp directory
// that no live runwire holds locked, and cgroups named runwire-<pid>[-<n>] whose pid is gone, with
// the task cgroups in them. What it removes is logged at debug level.
func removeLeftovers(log *slog.Logger) {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), runtimePrefix+"*"))
	dirs, cgroups := 0, 0
	inUse := map[string]bool{}
	if len(matches) > 0 {
		inUse = workingDirs()
	}
	for _, dir := range matches {
		if inUse[dir] {
			continue // a zygote runs there (of a runwire too old to lock its directory, say)
		}
		info, err := os.Lstat(dir)
		if err != nil || !info.IsDir() || time.Since(info.ModTime()) < time.Minute {
			// A minute's grace: a runwire starting now has made its directory but may not
			// hold the lock yet.
			continue
		}
		if st, ok := info.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
			continue
		}
		lock, err := lockRuntime(dir)
		if err != nil {
			continue // a live runwire holds it (or it is not ours to open)
		}
		err = os.RemoveAll(dir)
		_ = lock.Close()
		dirs++
		log.Debug("Removed a runtime directory a runwire that has gone left behind", "dir", dir, "error", errText(err))
	}
	for _, root := range cgroupCandidates {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			// runwire-<pid>-<n>, one per zygote (runwire-<pid> from runwires before that).
			pidText, _, _ := strings.Cut(strings.TrimPrefix(e.Name(), "runwire-"), "-")
			pid, err := strconv.Atoi(pidText)
			if !e.IsDir() || !strings.HasPrefix(e.Name(), "runwire-") || err != nil || pid <= 0 || pid == os.Getpid() {
				continue
			}
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				continue // alive (or not ours to signal: then not ours to remove either)
			}
			c := &taskCgroups{dir: filepath.Join(root, e.Name())}
			c.close()
			_, err = os.Stat(c.dir)
			cgroups++
			log.Debug("Removed a cgroup a runwire that has gone left behind", "cgroup", c.dir, "removed", errors.Is(err, os.ErrNotExist))
		}
	}
	log.Debug("Checked for what runwires that have gone left behind", "runtime_dirs", dirs, "cgroups", cgroups)
}

// workingDirs are the working directories of the processes this one can see.
func workingDirs() map[string]bool {
	out := map[string]bool{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil {
			out[cwd] = true
		}
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
