//go:build e2e

package e2equeue_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/runwire/runwire/e2e/queue"
)

// queueReport collects the suite's figures for its tables.
type queueReport struct {
	startup time.Duration
	loads   []loadRow
	faults  []faultRow
}

type loadRow struct {
	name          string
	calls, ok     int
	span          time.Duration
	p50, p90, p99 time.Duration
	codeShare     float64 // the Code node's time over the round trip's, summed over every call
	codeP50       time.Duration
	perWorker     []int
	cpuPerTask    []time.Duration // per runner
	memory        []queue.Memory  // per runner, after the run
	shared        serverCPU       // per execution
	peakPSS       []int64         // per runner, the largest tree PSS seen during the run (kB)
	n8nRSS        []int64         // main, then each worker, after the run (kB)
}

type faultRow struct {
	name        string
	calls, ok   int
	failed      int // answered with n8n's error answer
	noAnswer    int // not answered within queue.CallTimeout; their executions failed
	lostAnswers int // not answered within queue.CallTimeout, though their executions succeeded (counted in ok)
	errors      map[string]int
	running     int // tasks running on the affected runner just before the fault
	inFlight    int // failed executions that were in flight on the affected runner at the fault
	perWorker   []int
	recovery    time.Duration // from the fault's end to the runner registered again
	recoveryHow string
}

func (r *queueReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Queue mode on this machine: n8n main + %d workers (--concurrency 10), PostgreSQL, Redis, one runner per worker; topology up in %.1f s.\n\n",
		len(topo.Workers), r.startup.Seconds())
	if len(r.loads) > 0 {
		b.WriteString("| run | ok / calls | exec/s | round trip p50 | p90 | p99 | Code node p50 | Code node share | executions per worker | runner CPU per task | runner memory after (RSS of the runner / PSS of its tree) | runner tree PSS, peak |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, l := range r.loads {
			fmt.Fprintf(&b, "| %s | %d / %d | %.1f | %s | %s | %s | %s | %.0f %% | %s | %s | %s | %s |\n",
				l.name, l.ok, l.calls, float64(l.calls)/l.span.Seconds(), msf(l.p50), msf(l.p90), msf(l.p99),
				msf(l.codeP50), 100*l.codeShare, joinInts(l.perWorker), joinDurations(l.cpuPerTask), joinMemory(l.memory), joinMiB(l.peakPSS))
		}
		b.WriteString("\nCPU per execution outside the runner, over the same runs:\n\n")
		b.WriteString("| run | n8n main | n8n workers (both) | PostgreSQL | Redis | n8n RSS after: main / workers |\n|---|---|---|---|---|---|\n")
		for _, l := range r.loads {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", l.name, msd(l.shared.main), msd(l.shared.workers), msd(l.shared.postgres), msd(l.shared.redis), joinMiB(l.n8nRSS))
		}
		b.WriteString("\n")
	}
	if len(r.faults) > 0 {
		b.WriteString("| fault during the load | tasks on the runner then | ok / calls | failed: error answer / no answer | with | failed executions in flight on the affected runner | succeeded, but n8n never answered the call | executions per worker | runner serving again |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
		for _, f := range r.faults {
			var errs []string
			for msg, n := range f.errors {
				errs = append(errs, fmt.Sprintf("%d× %q", n, msg))
			}
			with := strings.Join(errs, ", ")
			if with == "" {
				with = "-"
			}
			fmt.Fprintf(&b, "| %s | %d | %d / %d | %d / %d | %s | %d of %d | %d | %s | %s after %s |\n",
				f.name, f.running, f.ok, f.calls, f.failed, f.noAnswer, with, f.inFlight, f.failed+f.noAnswer, f.lostAnswers, joinInts(f.perWorker), msf(f.recovery), f.recoveryHow)
		}
	}
	return b.String()
}

func msf(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000)
}

func msd(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, " / ")
}

func joinDurations(v []time.Duration) string {
	s := make([]string, len(v))
	for i, d := range v {
		s[i] = msd(d)
	}
	return strings.Join(s, " / ")
}

func joinMiB(v []int64) string {
	s := make([]string, len(v))
	for i, kb := range v {
		s[i] = fmt.Sprintf("%.0f MiB", float64(kb)/1024)
	}
	return strings.Join(s, " / ")
}

func joinMemory(v []queue.Memory) string {
	s := make([]string, len(v))
	for i, m := range v {
		s[i] = fmt.Sprintf("%.0f / %.0f MiB (%d procs)", float64(m.RootRSS)/1024, float64(m.TreePSS)/1024, m.Processes)
	}
	return strings.Join(s, "; ")
}
