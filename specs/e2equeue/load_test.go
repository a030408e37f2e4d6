//go:build e2e

package e2equeue_test

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/e2e/queue"
)

// The runs share the suite's topology and go one after the other: each measures, and the
// faults change what the next run starts from.
var _ = Describe("n8n in queue mode with a runwire beside each worker", Label("e2e-queue"), Ordered, func() {
	It("runs 500 Python executions, 20 at once, every answer correct, on both workers", func(ctx SpecContext) {
		row := measureLoad(ctx, "Python on runwire", "python", func(w *queue.Worker) int { return w.Runwire.PID() })
		report.loads = append(report.loads, row)
	}, SpecTimeout(5*time.Minute))

	It("runs the same with a JavaScript Code node on n8n's own JS runner beside each worker, for comparison", func(ctx SpecContext) {
		for _, w := range topo.Workers {
			Expect(w.StartJSRunner(ctx, "N8N_RUNNERS_MAX_CONCURRENCY=10")).To(Succeed())
			DeferCleanup(w.StopJSRunner)
		}
		row := measureLoad(ctx, "JavaScript on n8n's JS runner", "javascript", func(w *queue.Worker) int { return w.JSRunnerPID() })
		report.loads = append(report.loads, row)
	}, SpecTimeout(5*time.Minute))
})

// measureLoad deploys the workload in language, warms it up, makes the 500 calls and checks
// every answer, then reads every execution back from n8n: which worker ran it and how long its
// Code node took. runnerPID names the runner beside each worker that the language's tasks go to.
func measureLoad(ctx context.Context, name, language string, runnerPID func(*queue.Worker) int) loadRow {
	GinkgoHelper()
	id, path := deploy(ctx, name, language)
	warmUp(ctx, id, path)

	before := make([]time.Duration, len(topo.Workers))
	for i, w := range topo.Workers {
		before[i] = queue.TreeCPU(runnerPID(w))
	}
	sharedBefore := sharedCPU()
	peaks := samplePeaks(ctx, runnerPID)
	calls := queue.Load(ctx, client, path, executions, concurrency, nil)
	peak := peaks()
	row := loadRow{name: name, calls: len(calls), span: queue.Span(calls)}
	var trips []time.Duration
	var tripSum time.Duration
	for _, c := range calls {
		Expect(c.Err).NotTo(HaveOccurred(), "call %d", c.N)
		Expect(c.Status).To(Equal(http.StatusOK), "call %d: %s", c.N, c.Body)
		Expect(queue.CheckAnswer(c.N, c.Body)).To(Succeed())
		row.ok++
		trips = append(trips, c.RoundTrip())
		tripSum += c.RoundTrip()
	}
	for i, w := range topo.Workers {
		row.cpuPerTask = append(row.cpuPerTask, queue.TreeCPU(runnerPID(w))-before[i])
		row.memory = append(row.memory, queue.TreeMemory(runnerPID(w)))
	}
	row.shared = sharedCPU().minus(sharedBefore).per(len(calls))
	row.peakPSS = peak
	row.n8nRSS = []int64{queue.TreeMemory(topo.Main.PID()).RootRSS}
	for _, w := range topo.Workers {
		row.n8nRSS = append(row.n8nRSS, queue.TreeMemory(w.Server.PID()).RootRSS)
	}
	row.p50, row.p90, row.p99 = queue.Percentile(trips, 50), queue.Percentile(trips, 90), queue.Percentile(trips, 99)

	// Newest first: the warm-up's executions came before.
	execs := executionsOf(ctx, id, executions+2*concurrency)[:executions]
	row.perWorker = make([]int, len(topo.Workers))
	seen := map[int]bool{}
	var code []time.Duration
	var codeSum time.Duration
	for _, e := range execs {
		Expect(e.status).To(Equal("success"), "execution %s", e.id)
		Expect(seen[e.n]).To(BeFalse(), "execution %s posted n=%d, which another one posted too", e.id, e.n)
		seen[e.n] = true
		Expect(e.worker).NotTo(BeZero(), "execution %s was started by a worker", e.id)
		row.perWorker[e.worker-1]++
		code = append(code, e.codeTook)
		codeSum += e.codeTook
	}
	Expect(seen).To(HaveLen(executions))
	for i, n := range row.perWorker {
		Expect(n).To(BeNumerically(">", 0), "worker %d ran some of them", i+1)
		row.cpuPerTask[i] /= time.Duration(n)
	}
	row.codeP50 = queue.Percentile(code, 50)
	row.codeShare = float64(codeSum) / float64(tripSum)
	return row
}

// samplePeaks measures each worker's runner tree every 100 ms until the returned function is
// called, which returns the largest PSS (kB) seen per runner.
func samplePeaks(ctx context.Context, runnerPID func(*queue.Worker) int) func() []int64 {
	peaks := make([]int64, len(topo.Workers))
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			for i, w := range topo.Workers {
				peaks[i] = max(peaks[i], queue.TreeMemory(runnerPID(w)).TreePSS)
			}
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() []int64 {
		close(stop)
		<-done
		return peaks
	}
}

// serverCPU is the CPU time used so far by the processes every execution goes through besides
// its runner.
type serverCPU struct{ main, workers, postgres, redis time.Duration }

func sharedCPU() serverCPU {
	c := serverCPU{main: queue.TreeCPU(topo.Main.PID()), postgres: queue.TreeCPU(topo.Postgres.PID()), redis: queue.TreeCPU(topo.Redis.PID())}
	for _, w := range topo.Workers {
		c.workers += queue.TreeCPU(w.Server.PID())
	}
	return c
}

func (c serverCPU) minus(o serverCPU) serverCPU {
	return serverCPU{c.main - o.main, c.workers - o.workers, c.postgres - o.postgres, c.redis - o.redis}
}

func (c serverCPU) per(n int) serverCPU {
	d := time.Duration(n)
	return serverCPU{c.main / d, c.workers / d, c.postgres / d, c.redis / d}
}
