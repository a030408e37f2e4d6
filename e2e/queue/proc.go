package queue

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// statFields returns the fields of /proc/<pid>/stat after the command name (field 3 on).
func statFields(pid int) []string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil
	}
	// The command name is in parentheses and may contain anything: split after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// tree is root and every process below it, through the ppid links of /proc/*/stat.
func tree(root int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	found := false
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f := statFields(pid)
		if len(f) < 2 {
			continue // it ended meanwhile
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], pid)
		found = found || pid == root
	}
	if !found {
		return nil
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// TreeCPU is the CPU time (user + system) used so far by root and its descendants, those that
// ended and were waited for included (their parents' cutime and cstime).
func TreeCPU(root int) time.Duration {
	var ticks uint64
	for _, pid := range tree(root) {
		f := statFields(pid)
		if len(f) < 15 {
			continue
		}
		// f[11..14] are fields 14..17: utime, stime, cutime, cstime.
		for _, v := range f[11:15] {
			n, _ := strconv.ParseUint(v, 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * clockTick //nolint:gosec // clock ticks of one process tree fit easily
}

// Memory is a process tree's memory, in kB.
type Memory struct {
	Processes int
	RootRSS   int64 // VmRSS of the root alone
	TreeRSS   int64 // VmRSS summed over the tree (shared pages counted in every process)
	TreePSS   int64 // Pss summed over the tree (shared pages split between their users); -1 unknown
}

// TreeMemory measures root's tree now.
func TreeMemory(root int) Memory {
	m := Memory{}
	for i, pid := range tree(root) {
		rss := statusKB(pid, "VmRSS:")
		if i == 0 {
			m.RootRSS = rss
		}
		m.TreeRSS += rss
		m.Processes++
		if pss := rollupKB(pid, "Pss:"); pss >= 0 && m.TreePSS >= 0 {
			m.TreePSS += pss
		} else {
			m.TreePSS = -1
		}
	}
	return m
}

// statusKB reads one kB field of /proc/<pid>/status.
func statusKB(pid int, field string) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	return fieldKB(string(b), field)
}

// rollupKB reads one kB field of /proc/<pid>/smaps_rollup, -1 when it cannot be read.
func rollupKB(pid int, field string) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
	if err != nil {
		return -1
	}
	return fieldKB(string(b), field)
}

func fieldKB(text, field string) int64 {
	for line := range strings.SplitSeq(text, "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// Alive reports whether a process with this pid exists and is not a zombie.
func Alive(pid int) bool {
	f := statFields(pid)
	return len(f) > 0 && f[0] != "Z"
}
