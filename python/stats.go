package python

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Stats is a snapshot of the executor for metrics: no task's code, data or error text.
type Stats struct {
	State State
	// Restarts counts the zygotes that ended and were (or are being) replaced.
	Restarts int64
	// PoolSize is how many children are kept waiting (RUNWIRE_PYTHON_PREFORK); Waiting how
	// many wait now.
	PoolSize, Waiting int
	// ZygoteRSS is the running zygote's resident memory in bytes (0: none runs).
	ZygoteRSS int64
}

// Stats reports the executor's state, its restarts, its pool and its zygote's memory. It
// reads /proc and takes the pool's lock briefly; safe for concurrent use.
func (e *Executor) Stats() Stats {
	e.mu.Lock()
	st, z := e.state, e.z
	e.mu.Unlock()
	s := Stats{State: st, Restarts: e.restarts.Load(), PoolSize: e.opts.Prefork}
	if z != nil {
		z.pool.mu.Lock()
		s.Waiting = len(z.pool.idle)
		z.pool.mu.Unlock()
		s.ZygoteRSS = residentBytes(z.cmd.Process.Pid)
	}
	return s
}

// residentBytes is a process's resident set size from /proc/<pid>/statm (0 if unreadable).
func residentBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
