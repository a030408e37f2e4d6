//go:build e2e

package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/runwire/runwire/e2e/n8n"
	"github.com/runwire/runwire/transport"
)

// roundTrips is how many timed webhook calls each runner gets, after warmUp untimed ones.
const (
	roundTrips = 60
	warmUp     = 5
)

var _ = Describe("Webhook round trip", Label("e2e", "roundtrip"), func() {
	It("is measured for a trivial Python Code node on runwire and the same JavaScript node on n8n's own JS runner", func(ctx SpecContext) {
		startBinary(benchBin) // without the race detector: this measures
		py, pyNode := timeRoundTrips(ctx, python("roundtrip", `return [{"json": {"a": 1}}]`, n8n.RunOnceForAllItems, false))

		startJSRunner(ctx)
		js, jsNode := timeRoundTrips(ctx, n8n.JSWebhookWorkflow("e2e: roundtrip (JavaScript)", uniquePath("roundtrip-js"),
			`return [{json: {a: 1}}]`, n8n.RunOnceForAllItems))

		table := fmt.Sprintf("| %d sequential webhook calls, trivial Code node | round trip: median | p90 | the Code node in n8n: median | p90 |\n|---|---|---|---|---|\n", roundTrips) +
			fmt.Sprintf("| Python on runwire | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n", ms(py, 50), ms(py, 90), ms(pyNode, 50), ms(pyNode, 90)) +
			fmt.Sprintf("| JavaScript on n8n's JS runner (@n8n/task-runner) | %.1f ms | %.1f ms | %.1f ms | %.1f ms |\n", ms(js, 50), ms(js, 90), ms(jsNode, 50), ms(jsNode, 90))
		AddReportEntry("round trip", table)
		GinkgoWriter.Print(table)
		if path := os.Getenv("RUNWIRE_E2E_REPORT"); path != "" {
			Expect(os.WriteFile(path, []byte(table), 0o644)).To(Succeed())
		}
	}, SpecTimeout(5*time.Minute))
})

// timeRoundTrips deploys wf, whose node answers [{"a": 1}], and times sequential webhook calls:
// the round trips, and the Code node's execution time as n8n recorded it (handing the task to
// the runner and getting its result), both sorted.
func timeRoundTrips(ctx context.Context, wf n8n.Workflow) (trips, node []time.Duration) {
	GinkgoHelper()
	id := deploy(ctx, wf)
	call := func() time.Duration {
		t0 := time.Now()
		status, body, err := client.Webhook(ctx, webhookPath(wf), map[string]any{})
		d := time.Since(t0)
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusOK), string(body))
		Expect(body).To(MatchJSON(`[{"a": 1}]`))
		return d
	}
	for range warmUp {
		call()
	}
	trips = make([]time.Duration, roundTrips)
	for i := range trips {
		trips[i] = call()
	}
	slices.Sort(trips)

	runs, err := client.Executions(ctx, id)
	Expect(err).NotTo(HaveOccurred())
	Expect(len(runs)).To(BeNumerically(">=", roundTrips))
	for _, r := range runs[:roundTrips] { // newest first: the timed ones
		exec, err := client.Execution(ctx, r.ID)
		Expect(err).NotTo(HaveOccurred())
		run := exec.LastRun(n8n.CodeNodeName)
		Expect(run).NotTo(BeNil())
		node = append(node, run.ExecutionTime)
	}
	slices.Sort(node)
	return trips, node
}

// ms is the p-th percentile of sorted durations, in milliseconds.
func ms(sorted []time.Duration, p int) float64 {
	return float64(sorted[(len(sorted)-1)*p/100].Microseconds()) / 1000
}

// startJSRunner starts n8n's own JavaScript task runner as n8n's launcher does: a grant token
// fetched with the auth token, node with the launcher's flags, and start.js.
func startJSRunner(ctx context.Context) {
	GinkgoHelper()
	grant, err := transport.FetchGrantToken(ctx, http.DefaultClient, server.BrokerURL(), authToken)
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(n8n.NodeBinary(installDir), "--disallow-code-generation-from-strings", "--disable-proto=delete",
		filepath.Join(installDir, "node_modules", "@n8n", "task-runner", "dist", "start.js"))
	cmd.Env = []string{
		"PATH=" + filepath.Dir(n8n.NodeBinary(installDir)) + ":/usr/bin:/bin",
		"HOME=" + os.Getenv("HOME"),
		"N8N_RUNNERS_GRANT_TOKEN=" + grant,
		"N8N_RUNNERS_TASK_BROKER_URI=" + server.BrokerURL(),
		// On SIGTERM it keeps serving through this grace period (30 s by default) unless
		// n8n drains it; the suite has no use for that wait.
		"N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT=2",
	}
	session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Eventually(session.Terminate(), 20*time.Second).Should(gexec.Exit()) })
}
