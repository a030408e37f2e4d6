package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
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
	uniqueKB     int64 // physical pages mapped by any process of the tree, each counted once; -1: unknown
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
	s.uniqueKB = uniqueKB(tree)
	return s
}

// pageSize is the size of the pages /proc/<pid>/pagemap describes.
var pageSize = uint64(os.Getpagesize()) //nolint:gosec // a page size is positive

// uniqueKB is the memory of the physical pages that the tree's processes map, each page counted
// once however many of them map it: what the tree holds together, whoever else on the machine
// maps the same files. (PSS splits a page with every process that maps it, outside the tree
// too, so it drops when another Python runs; summed RSS counts a page once per process.) It
// reads page frame numbers from /proc/<pid>/pagemap, which only a process with CAP_SYS_ADMIN
// sees; -1 when they are hidden.
func uniqueKB(tree []procInfo) int64 {
	if len(tree) == 0 {
		return -1
	}
	frames := map[uint64]struct{}{}
	for _, p := range tree {
		if !addFrames(p.pid, frames) {
			return -1
		}
	}
	return int64(len(frames)) * int64(pageSize) / 1024 //nolint:gosec // a page size fits
}

// addFrames adds the page frames mapped by pid to frames; false when they cannot be read.
// Only mappings with resident pages (Rss > 0 in /proc/<pid>/smaps) are looked up.
func addFrames(pid int, frames map[uint64]struct{}) bool {
	smaps, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "smaps"))
	if err != nil {
		return true // it ended meanwhile
	}
	pagemap, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "pagemap"))
	if err != nil {
		return true
	}
	defer pagemap.Close()
	const present = uint64(1) << 63
	const pfnMask = uint64(1)<<55 - 1
	var start, end uint64
	sawPresent, sawFrame := false, false
	for line := range strings.SplitSeq(string(smaps), "\n") {
		if lo, hi, ok := mappingRange(line); ok {
			start, end = lo, hi
			continue
		}
		v, ok := strings.CutPrefix(line, "Rss:")
		if !ok || parseKB(v) == 0 || end <= start {
			continue
		}
		n := (end - start) / pageSize
		buf := make([]byte, 8*n)
		if _, err := pagemap.ReadAt(buf, int64(start/pageSize)*8); err != nil { //nolint:gosec // user-space addresses fit
			continue // [vsyscall] and the like
		}
		for i := range n {
			e := binary.LittleEndian.Uint64(buf[8*i:])
			if e&present == 0 {
				continue
			}
			sawPresent = true
			if pfn := e & pfnMask; pfn != 0 {
				sawFrame = true
				frames[pfn] = struct{}{}
			}
		}
	}
	return sawFrame || !sawPresent
}

// mappingRange parses the address range of a /proc/<pid>/smaps mapping line ("lo-hi perms ...").
func mappingRange(line string) (lo, hi uint64, ok bool) {
	r, rest, found := strings.Cut(line, " ")
	if !found || len(rest) < 4 || (rest[0] != 'r' && rest[0] != '-') {
		return 0, 0, false
	}
	a, b, found := strings.Cut(r, "-")
	if !found {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(a, 16, 64)
	hi, err2 := strconv.ParseUint(b, 16, 64)
	return lo, hi, err1 == nil && err2 == nil
}
