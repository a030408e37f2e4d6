package python

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// taskCgroups gives every task process a pids cgroup of its own: its processes are capped
// (pids.max, which unlike RLIMIT_NPROC also holds for root), and when the task ends every
// process left in it is killed, including those that left the task's process group with
// setsid. It needs a writable cgroup file system (root, or a delegated subtree); without one
// it is not in force and runwire says so.
//
// Each zygote has its own parent cgroup (runwire-<pid>-<n>), and the parent goes with the last
// task cgroup under it: a task that was running when its zygote died is swept by its own
// goroutine, which may finish after the zygote's close; whichever of the two ends last removes
// the parent, and the next zygote's cgroups never share it.
type taskCgroups struct {
	dir string // this zygote's cgroup, holding one cgroup per task
	max int64  // pids.max per task

	mu     sync.Mutex
	live   map[string]bool // task cgroups not removed yet
	closed bool            // the zygote has closed: the last removal takes the parent
}

// cgroupSerial numbers the zygotes' parent cgroups within this process.
var cgroupSerial atomic.Int64

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
		dir := filepath.Join(root, fmt.Sprintf("runwire-%d-%d", os.Getpid(), cgroupSerial.Add(1)))
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
		return &taskCgroups{dir: dir, max: maxPerTask, live: map[string]bool{}}, nil
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
	c.mu.Lock()
	c.live[dir] = true
	c.mu.Unlock()
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
			c.removed(dir) // fails while processes remain; a later sweep tries again
			return
		}
	}
	c.removed(dir)
}

// removed removes a swept task cgroup and, after close, the parent with the last one.
func (c *taskCgroups) removed(dir string) {
	err := os.Remove(dir)
	if err == nil || errors.Is(err, os.ErrNotExist) {
		c.mu.Lock()
		delete(c.live, dir)
		c.mu.Unlock()
	}
	c.removeParentIfDone()
}

// removeParentIfDone removes this zygote's cgroup once it has closed and no task cgroup is left.
func (c *taskCgroups) removeParentIfDone() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed && len(c.live) == 0 {
		_ = os.Remove(c.dir)
	}
}

// close sweeps every task cgroup and removes this zygote's cgroup once they are all gone,
// now or when the last task still being swept ends.
func (c *taskCgroups) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	entries, _ := os.ReadDir(c.dir)
	for _, e := range entries {
		if e.IsDir() {
			c.sweep(filepath.Join(c.dir, e.Name()))
		}
	}
	c.removeParentIfDone()
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
