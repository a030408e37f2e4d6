package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procInfo is one process as /proc describes it.
type procInfo struct {
	pid, ppid int
	start     uint64 // starttime in clock ticks: with the pid, the process's identity
	name      string
	depth     int   // 0 = the root of the tree
	rssKB     int64 // VmRSS
	pssKB     int64 // Pss from smaps_rollup; -1 when unreadable
}

// readStat parses /proc/<pid>/stat: the parent pid and the start time.
func readStat(pid int) (ppid int, start uint64, err error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, err
	}
	// The command name is in parentheses and may contain anything: split after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("unreadable /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), f[1] field 4 (ppid), f[19] field 22 (starttime).
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, err
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	return ppid, start, err
}

// clockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// treeCPU is the CPU time (user + system) used so far by root and its descendants, including
// descendants that have ended and been waited for (their parents' cutime and cstime).
func treeCPU(root int) time.Duration {
	var ticks uint64
	for _, p := range processTree(root) {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.pid), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
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

// processTree is root and all its descendants, found through the ppid links of /proc/*/stat,
// root first, then breadth first.
func processTree(root int) []procInfo {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]procInfo{}
	var rootInfo *procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, start, err := readStat(pid)
		if err != nil {
			continue // it ended meanwhile
		}
		p := procInfo{pid: pid, ppid: ppid, start: start}
		if pid == root {
			rootInfo = &p
		}
		children[ppid] = append(children[ppid], p)
	}
	if rootInfo == nil {
		return nil
	}
	out := []procInfo{*rootInfo}
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i].pid] {
			c.depth = out[i].depth + 1
			out = append(out, c)
		}
	}
	return out
}

// treeMemory is processTree with each process's VmRSS and Pss filled in.
func treeMemory(root int) []procInfo {
	tree := processTree(root)
	for i := range tree {
		tree[i].name, tree[i].rssKB = readStatus(tree[i].pid)
		tree[i].pssKB = readPss(tree[i].pid)
	}
	return tree
}

// readStatus returns Name and VmRSS (kB) from /proc/<pid>/status.
func readStatus(pid int) (name string, rssKB int64) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return "?", 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if v, ok := strings.CutPrefix(line, "Name:"); ok {
			name = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rssKB = parseKB(v)
		}
	}
	return name, rssKB
}

// readPss returns Pss (kB) from /proc/<pid>/smaps_rollup, or -1 when it cannot be read.
func readPss(pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Pss:"); ok {
			return parseKB(v)
		}
	}
	return -1
}

func parseKB(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
	return n
}

// alive says whether the process p still exists (same pid, same start time) and is not a
// zombie waiting to be reaped.
func alive(p procInfo) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.pid), "stat"))
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(b, ')'); i >= 0 {
		if f := strings.Fields(string(b[i+1:])); len(f) > 0 && f[0] == "Z" {
			return false
		}
	}
	_, start, err := readStat(p.pid)
	return err == nil && start == p.start
}

// kill sends SIGKILL to p if it is still the same process.
func kill(p procInfo) {
	if alive(p) {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
}

// memSummary is the tree's memory: totals and one entry per role.
type memSummary struct {
	procs        int
	rssKB, pssKB int64
	pssOK        bool
	byRole       []roleMem
}

type roleMem struct {
	role  string
	count int
	rssKB int64
	pssKB int64
}

// summarise sums VmRSS and Pss over the tree. Roles by depth: runwire (0), its direct
// children (the zygote), and everything below (the pre-forked task processes).
func summarise(tree []procInfo) memSummary {
	s := memSummary{procs: len(tree), pssOK: len(tree) > 0}
	roles := map[string]*roleMem{}
	var order []string
	for _, p := range tree {
		s.rssKB += p.rssKB
		if p.pssKB < 0 {
			s.pssOK = false
		} else {
			s.pssKB += p.pssKB
		}
		role := "runwire"
		switch {
		case p.depth == 1:
			role = p.name + " zygote"
		case p.depth >= 2:
			role = p.name + " waiting children"
		}
		r := roles[role]
		if r == nil {
			r = &roleMem{role: role}
			roles[role] = r
			order = append(order, role)
		}
		r.count++
		r.rssKB += p.rssKB
		r.pssKB += max(p.pssKB, 0)
	}
	for _, k := range order {
		s.byRole = append(s.byRole, *roles[k])
	}
	return s
}
