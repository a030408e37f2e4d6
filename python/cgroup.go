package python

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// taskCgroups gives every task process a pids cgroup of its own: its processes are capped
// (pids.max, which unlike RLIMIT_NPROC also holds for root), and when the task ends every
// process left in it is killed, including those that left the task's process group with
// setsid. It needs a writable cgroup file system (root, or a delegated subtree); without one
// it is not in force and runwire says so.
type taskCgroups struct {
	dir string // runwire's own cgroup, holding one cgroup per task
	max int64  // pids.max per task
}

// cgroupCandidates are the pids hierarchies to try: cgroup v1's pids controller, then v2.
var cgroupCandidates = []string{"/sys/fs/cgroup/pids", "/sys/fs/cgroup"}

// newTaskCgroups creates runwire's cgroup, or says why it cannot.
func newTaskCgroups(maxPerTask int64) (*taskCgroups, error) {
	if maxPerTask <= 0 {
		return nil, errors.New("no process cap configured")
	}
	var errs []error
	for _, root := range cgroupCandidates {
		if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil {
			continue
		}
		if root == "/sys/fs/cgroup" && !hasPidsController(root) {
			continue
		}
		dir := filepath.Join(root, fmt.Sprintf("runwire-%d", os.Getpid()))
		if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, os.ErrExist) {
			errs = append(errs, err)
			continue
		}
		if root == "/sys/fs/cgroup" {
			// v2: the task cgroups below need the pids controller enabled here.
			if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+pids"), 0o600); err != nil {
				_ = os.Remove(dir)
				errs = append(errs, err)
				continue
			}
		}
		return &taskCgroups{dir: dir, max: maxPerTask}, nil
	}
	if len(errs) == 0 {
		return nil, errors.New("no pids cgroup hierarchy is mounted")
	}
	return nil, errors.Join(errs...)
}

func hasPidsController(root string) bool {
	b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers")) //nolint:gosec // a fixed cgroupfs path
	return err == nil && strings.Contains(" "+string(b)+" ", " pids ")
}

// place moves a waiting child into a fresh cgroup of its own and returns it.
func (c *taskCgroups) place(hostPID int) (string, error) {
	dir := filepath.Join(c.dir, "task-"+strconv.Itoa(hostPID))
	if err := os.Mkdir(dir, 0o750); err != nil {
		return "", err
	}
	err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.FormatInt(c.max, 10)), 0o600)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(hostPID)), 0o600)
	}
	if err != nil {
		_ = os.Remove(dir)
		return "", err
	}
	return dir, nil
}

// sweep kills whatever is left in a task's cgroup and removes it.
func (c *taskCgroups) sweep(dir string) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(2 * time.Second)
	for pids := readPids(dir); len(pids) > 0; pids = readPids(dir) {
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-tick.C:
		case <-deadline:
			_ = os.Remove(dir) // fails while processes remain; close tries again
			return
		}
	}
	_ = os.Remove(dir)
}

// close removes runwire's cgroup once every task cgroup is gone.
func (c *taskCgroups) close() {
	entries, _ := os.ReadDir(c.dir)
	for _, e := range entries {
		if e.IsDir() {
			c.sweep(filepath.Join(c.dir, e.Name()))
		}
	}
	_ = os.Remove(c.dir)
}

func readPids(dir string) []int {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")) //nolint:gosec // runwire's own cgroup
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
