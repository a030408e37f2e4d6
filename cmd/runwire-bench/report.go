package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report is everything the tool prints at the end.
type report struct {
	machine        string
	loadBefore     string
	loadAfter      string
	python         string
	runwireVersion string
	pythonBoots    []string
	isolation      string // runwire's "Python task isolation in force" line
	starts         []startRun
	cold           []coldSample
	samples        []sample
	mem            []memSnapshot
	preload        []*preloadCase
	preloadSkipped string // why the preload cases did not run
	oddities       []string
}

func newReport() *report { return &report{} }

func (r *report) odd(format string, args ...any) {
	if len(r.oddities) < 50 {
		r.oddities = append(r.oddities, fmt.Sprintf(format, args...))
	}
}

// machineInfo is nproc, the CPU model, the kernel and the date.
func machineInfo() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "?"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("nproc %d (%s), Linux %s, %s", runtime.NumCPU(), model, kernel, time.Now().UTC().Format("2006-01-02"))
}

// loadAverage is the 1-minute load average: other work on the machine skews every figure.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

func (r *report) print(w io.Writer) {
	version := r.runwireVersion
	if version == "" {
		version = "?"
	}
	python := r.python
	if python == "" {
		python = "Python ?"
	}
	fmt.Fprintf(w, "runwire %s · %s · %s · bench built with %s\n\n", version, r.machine, python, runtime.Version())

	printCold(w, r.cold)
	printPreload(w, r)
	if len(r.samples) == 0 {
		fmt.Fprintf(w, "Load average (1 min) before the run %s, after %s.\n", r.loadBefore, r.loadAfter)
		r.printOddities(w)
		return
	}
	fmt.Fprintln(w, "| workload | in flight | tasks | p50 | p99 | tasks/s |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, s := range r.samples {
		fmt.Fprintf(w, "| %s | %d | %d | %s | %s | %.1f |\n", s.workload, s.inFlight, s.tasks, ms(s.p50), ms(s.p99), s.rate)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Latency: broker:taskofferaccept sent → runner:taskdone received. tasks/s: measured tasks ÷ (first accept sent → last taskdone received).")
	fmt.Fprintf(w, "Load average (1 min) before the run %s, after %s.\n", r.loadBefore, r.loadAfter)
	fmt.Fprintln(w)

	if len(r.starts) > 0 {
		pick := func(f func(startRun) time.Duration) []time.Duration {
			out := make([]time.Duration, len(r.starts))
			for i, s := range r.starts {
				out[i] = f(s)
			}
			return out
		}
		reg := pick(func(s startRun) time.Duration { return s.registered })
		fmt.Fprintf(w, "- **start to registered** (process start → runner:info at the broker), %d runs: p50 %s (min %s, max %s); "+
			"start → POST /runners/auth p50 %s, → WebSocket upgrade p50 %s\n",
			len(reg), ms(percentile(reg, 50)), ms(slices.Min(reg)), ms(slices.Max(reg)),
			ms(percentile(pick(func(s startRun) time.Duration { return s.auth }), 50)),
			ms(percentile(pick(func(s startRun) time.Duration { return s.upgrade }), 50)))
		first := pick(func(s startRun) time.Duration { return s.firstTask })
		fmt.Fprintf(w, "- **start to first task done** (a trivial task accepted on the first offer, executor cold), %d runs: p50 %s (min %s, max %s)",
			len(first), ms(percentile(first, 50)), ms(slices.Min(first)), ms(slices.Max(first)))
		if len(r.pythonBoots) > 0 {
			fmt.Fprintf(w, "; runwire's own \"Python executor ready\" boot times: %s", strings.Join(r.pythonBoots, ", "))
		}
		fmt.Fprintln(w)
		stop := pick(func(s startRun) time.Duration { return s.stop })
		fmt.Fprintf(w, "- **SIGTERM to exit** (idle runwire), %d runs: p50 %s (max %s)\n", len(stop), ms(percentile(stop, 50)), ms(slices.Max(stop)))
	}
	for _, m := range r.mem {
		fmt.Fprintf(w, "- **idle memory**, %s: RSS %s summed over %d processes (%s); PSS %s; unique %s\n",
			m.label, mib(m.mem.rssKB), m.mem.procs, roles(m.mem), pss(m.mem), unique(m.mem))
	}
	if r.isolation != "" {
		fmt.Fprintf(w, "- runwire logged: %s\n", r.isolation)
	}
	expired, tasks := 0, 0
	var cpu time.Duration
	for _, s := range r.samples {
		expired += s.expired
		tasks += s.tasks
		cpu += s.benchCPU
	}
	if tasks > 0 {
		parts := make([]string, 0, len(r.samples))
		for _, s := range r.samples {
			parts = append(parts, fmt.Sprintf("%s ×%d in flight %s", s.workload, s.inFlight, ms(s.treeCPU/time.Duration(s.tasks))))
		}
		fmt.Fprintf(w, "- **CPU per task** of runwire's process tree (utime + stime, with reaped children, at 10 ms resolution): %s\n", strings.Join(parts, "; "))
		fmt.Fprintf(w, "- the bench itself (broker and drivers, on the same cores) used %s of CPU per measured task on average\n", ms(cpu/time.Duration(tasks)))
	}
	if expired > 0 {
		fmt.Fprintf(w, "- %d offers were rejected as expired and retried with the next offer\n", expired)
	}
	r.printOddities(w)
}

// printOddities lists what looked wrong: runwire's warnings, stray messages, a bad exit.
func (r *report) printOddities(w io.Writer) {
	if len(r.oddities) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Noticed during the run:")
		for _, o := range r.oddities {
			fmt.Fprintf(w, "- %s\n", o)
		}
	}
}

func roles(m memSummary) string {
	parts := make([]string, 0, len(m.byRole))
	for _, r := range m.byRole {
		if r.count == 1 {
			parts = append(parts, fmt.Sprintf("%s %s", r.role, mib(r.rssKB)))
		} else {
			parts = append(parts, fmt.Sprintf("%d × %s %s", r.count, r.role, mib(r.rssKB)))
		}
	}
	return strings.Join(parts, ", ")
}

func pss(m memSummary) string {
	if !m.pssOK {
		return "unreadable (/proc/<pid>/smaps_rollup)"
	}
	return mib(m.pssKB)
}

func unique(m memSummary) string {
	if m.uniqueKB < 0 {
		return "unknown (/proc/<pid>/pagemap shows page frames to CAP_SYS_ADMIN only)"
	}
	return mib(m.uniqueKB)
}

func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	if v < 10 {
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func mib(kb int64) string { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }
