//go:build e2e

// The queue-mode suite: n8n 2.41.1 in queue mode (a main, two workers, PostgreSQL, Redis), a
// runwire beside each worker, 500 webhook executions per run, and faults during the load.
// `make e2e-queue` runs it and prints its tables; it is behind the e2e build tag because it
// needs n8n's install and Debian's postgresql and redis-server packages, which it installs.
package e2equeue_test

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/runwire/runwire/e2e/n8n"
	"github.com/runwire/runwire/e2e/queue"
)

func TestQueue(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Queue mode: n8n main, two workers, PostgreSQL, Redis, a runwire per worker")
}

const (
	ownerEmail    = "queue@runwire.test"
	ownerPassword = "Queue-runwire-Passw0rd"

	// executions is how many webhook calls each run makes, concurrency how many at once.
	executions  = 500
	concurrency = 20
)

var (
	installDir string
	topo       *queue.Topology
	client     *n8n.Client
	report     = &queueReport{}
)

var _ = BeforeSuite(func(ctx SpecContext) {
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(20 * time.Millisecond)

	var err error
	installDir, err = n8n.Install(ctx, "../../e2e/scripts/install-n8n.sh", GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	deps, err := queue.InstallDeps(ctx, "../../e2e/scripts/install-queue-deps.sh", GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	// Built as `make build` builds it, without the race detector: the suite measures.
	runwireBin, err := gexec.Build("github.com/runwire/runwire/cmd/runwire", "-trimpath")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(gexec.CleanupBuildArtifacts)

	// Registered first: a failure or an interrupt from here on still stops what was started.
	DeferCleanup(stopLeavesNothing, NodeTimeout(3*time.Minute))
	started := time.Now()
	topo, err = queue.Start(ctx, queue.Options{
		InstallDir:  installDir,
		Deps:        deps,
		Runwire:     runwireBin,
		Workers:     2,
		Concurrency: 10,
		RunwireEnv: []string{
			"N8N_RUNNERS_MAX_CONCURRENCY=10", // as many tasks as the worker runs executions
			"RUNWIRE_BACKOFF_MAX=1s",         // reconnect within a second of a fault's end
		},
	})
	Expect(err).NotTo(HaveOccurred())
	report.startup = time.Since(started)

	client = n8n.NewClient(topo.Main.URL())
	DeferCleanup(client.CloseIdleConnections)
	Expect(client.SetupOwner(ctx, ownerEmail, ownerPassword, "Queue", "Mode")).To(Succeed())
	Expect(client.Login(ctx, ownerEmail, ownerPassword)).To(Succeed())
}, NodeTimeout(20*time.Minute))

// failed is set once a spec fails: the topology's logs are then kept (RUNWIRE_QUEUE_LOGS).
var failed bool

var _ = ReportAfterEach(func(r SpecReport) {
	if r.Failed() {
		failed = true
	}
})

var _ = AfterSuite(func() {
	if path := os.Getenv("RUNWIRE_QUEUE_REPORT"); path != "" {
		Expect(os.WriteFile(path, []byte(report.String()), 0o644)).To(Succeed())
	}
	GinkgoWriter.Print(report.String())
})

// stopLeavesNothing stops the topology and checks what #15.1 asks of it: no process of it left,
// nor anything in its process groups, and no data directory.
func stopLeavesNothing(_ SpecContext) {
	if topo == nil {
		return // Start failed, and stopped what it had started
	}
	if failed && os.Getenv("RUNWIRE_QUEUE_LOGS") != "" {
		Expect(topo.SaveLogs(os.Getenv("RUNWIRE_QUEUE_LOGS"))).To(Succeed())
	}
	pids, dir := topo.PIDs(), topo.Dir()
	Expect(topo.Stop()).To(Succeed())
	for _, pid := range pids {
		Expect(queue.Alive(pid)).To(BeFalse(), "process %d is gone", pid)
		Expect(errors.Is(syscall.Kill(-pid, 0), syscall.ESRCH)).To(BeTrue(), "process group %d is empty", pid)
	}
	Expect(dir).NotTo(BeAnExistingFile(), "the topology's folder, data directories included, is removed")
}
