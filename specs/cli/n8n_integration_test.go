package cli_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/runwire/runwire/cli"
	"github.com/runwire/runwire/python"
	"github.com/runwire/runwire/specs/support"
)

// Equivalents of n8n's test_health_check.py and test_shutdown.py
// (packages/@n8n/task-runner-python/tests/integration in n8n-io/n8n), against `runwire run`
// end to end with the real Python executor. The rest of n8n's integration tests are in
// specs/python/n8n_integration_test.go.

// pythonPath is RUNWIRE_PYTHON, else python3 on PATH, resolved once.
var pythonPath = sync.OnceValues(func() (python.Interpreter, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return python.Discover(ctx, os.Getenv("RUNWIRE_PYTHON"))
})

// withPython starts runwire with the real executor and returns the broker's side of its
// connection.
func withPython(ctx context.Context, b *support.Broker, environ ...string) (*process, *support.Inbox) {
	GinkgoHelper()
	in, err := pythonPath()
	Expect(err).NotTo(HaveOccurred(), "these specs need Python 3 (RUNWIRE_PYTHON or python3 on PATH)")
	environ = append(environ, "N8N_RUNNERS_TASK_BROKER_URI="+b.URL(), "N8N_RUNNERS_AUTH_TOKEN="+authToken, "RUNWIRE_PYTHON="+in.Path)
	p := start(nil, environ...)
	var c *support.BrokerConn
	Eventually(ctx, b.Registered()).Should(Receive(&c))
	return p, support.NewInbox(ctx, c)
}

// startTask accepts taskID on the next offer and sends its all-items settings.
func startTask(in *support.Inbox, taskID, code string) {
	GinkgoHelper()
	offer, _ := in.Await("a runner:taskoffer", support.IsType("runner:taskoffer"))["offerId"].(string)
	in.Send(map[string]any{"type": "broker:taskofferaccept", "taskId": taskID, "offerId": offer})
	in.Await("runner:taskaccepted", support.IsType("runner:taskaccepted"))
	in.Send(map[string]any{"type": "broker:tasksettings", "taskId": taskID, "settings": map[string]any{
		"code": code, "nodeMode": "runOnceForAllItems", "continueOnFail": false, "items": []any{},
		"workflowMode": "manual", "nodeId": "n", "nodeName": "Code", "workflowId": "w", "workflowName": "specs (cli)",
	}})
}

// isPrintOf matches taskID's print() calls.
func isPrintOf(taskID string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == "runner:rpc" && m["taskId"] == taskID }
}

// health returns the status and body of a GET of url.
func health(url string) (int, string) {
	resp, err := http.Get(url) //nolint:gosec,noctx // loopback spec request
	if err != nil {
		return 0, ""
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var _ = Describe("n8n's test_health_check.py", Label("integration"), func() {
	healthURL := func(p *process) string {
		GinkgoHelper()
		Eventually(p.stdout).Should(gbytes.Say(`Health check server listening on 127\.0\.0\.1, port (\d+)\n`))
		return "http://127.0.0.1:" + regexp.MustCompile(`port (\d+)`).FindStringSubmatch(string(p.stdout.Contents()))[1] + "/"
	}
	healthOn := []string{"N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED=true", "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=0"}

	It("test_health_check_server_responds: 200 OK", func(ctx SpecContext) {
		p, _ := withPython(ctx, newBroker(), healthOn...)
		url := healthURL(p)
		Eventually(func() []any { s, b := health(url); return []any{s, b} }).Should(Equal([]any{http.StatusOK, "OK"}))
	}, SpecTimeout(15*time.Second))

	It("test_health_check_server_ressponds_mid_execution: 200 OK while a task runs", func(ctx SpecContext) {
		p, in := withPython(ctx, newBroker(), append(healthOn, "N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT=1")...)
		url := healthURL(p)
		startTask(in, "T1", "print('running')\nwhile True:\n    pass")
		in.Await("the task runs", isPrintOf("T1"))
		status, body := health(url)
		Expect([]any{status, body}).To(Equal([]any{http.StatusOK, "OK"}))
		Expect(in.Count(support.IsTerminal("T1"))).To(BeZero(), "the task is still running")
	}, SpecTimeout(15*time.Second))
})

var _ = Describe("n8n's test_shutdown.py", Label("integration"), func() {
	// n8n's test stops its runner while a task sleeps for 30 s and wants it gone well before
	// that. runwire gives running tasks N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT to finish, then
	// cancels and reports them and exits 1 (its documented code for "tasks were cancelled");
	// with 1 s here, the spec's own time limit (15 s) is what tells a runner that waited
	// for the task.
	It("test_graceful_shutdown: SIGTERM during a long task ends runwire without waiting for the task", func(ctx SpecContext) {
		p, in := withPython(ctx, newBroker(), "N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT=1", "N8N_RUNNERS_STDLIB_ALLOW=time")
		startTask(in, "T1", "import time\nprint('sleeping')\ntime.sleep(30)")
		in.Await("the task runs", isPrintOf("T1"))
		p.signals <- os.Interrupt
		Expect(p.exitCode()).To(Equal(cli.ExitFailure))
		Expect(string(p.stdout.Contents())).To(ContainSubstring("Cancelled 1 task(s) still running after 1s (N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT)"))
		Expect(in.Count(support.IsType("runner:taskdone"))).To(BeZero(), "the task did not finish")
	}, SpecTimeout(15*time.Second))
})
