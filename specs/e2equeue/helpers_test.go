//go:build e2e

package e2equeue_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/e2e/n8n"
	"github.com/runwire/runwire/e2e/queue"
)

var workflowSeq atomic.Int64

// deploy creates and activates a Webhook → Code workflow running the load's code in language
// ("python" or "javascript"), and returns its id and webhook path.
func deploy(ctx context.Context, name, language string) (id, path string) {
	GinkgoHelper()
	path = fmt.Sprintf("queue-%s-%d-%d", language, GinkgoRandomSeed(), workflowSeq.Add(1))
	var wf n8n.Workflow
	if language == "python" {
		wf = n8n.PythonWebhookWorkflow("queue: "+name, path, queue.PythonCode, n8n.RunOnceForAllItems, false)
	} else {
		wf = n8n.JSWebhookWorkflow("queue: "+name, path, queue.JavaScriptCode, n8n.RunOnceForAllItems)
	}
	created, err := client.CreateWorkflow(ctx, wf)
	Expect(err).NotTo(HaveOccurred())
	Expect(client.Activate(ctx, created.ID, created.VersionID)).To(Succeed())
	return created.ID, path
}

// warmUp makes 2×concurrency calls, each answer checked, so that both workers have run the
// workflow and both runners have forked what they need before anything is measured.
func warmUp(ctx context.Context, workflowID, path string) {
	GinkgoHelper()
	for _, c := range queue.Load(ctx, client, path, 2*concurrency, concurrency, nil) {
		Expect(c.Err).NotTo(HaveOccurred())
		Expect(c.Status).To(Equal(http.StatusOK), "%s: %s", c.Body, failures(ctx, workflowID))
		Expect(queue.CheckAnswer(c.N, c.Body)).To(Succeed())
	}
}

// failures describes the failed executions among the newest of workflowID, for a message.
func failures(ctx context.Context, workflowID string) string {
	list, err := client.Executions(ctx, workflowID)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, s := range list {
		if s.Status == "success" || len(out) == 3 {
			continue
		}
		ex, err := client.Execution(ctx, s.ID)
		if err != nil {
			out = append(out, err.Error())
			continue
		}
		msg := s.ID + " " + ex.Status
		if ex.Error != nil {
			msg += ": " + ex.Error.Message + " (" + ex.Error.Description + ")"
		}
		out = append(out, msg)
	}
	return strings.Join(out, "; ")
}

// startedRe is the line an n8n worker logs when it takes an execution off the queue.
var startedRe = regexp.MustCompile(`Worker started execution (\d+) \(job`)

// workerOf maps each execution id to the index of the worker that ran it, from the workers'
// logs.
func workerOf() map[string]int {
	m := map[string]int{}
	for _, w := range topo.Workers {
		for _, line := range w.LogLines("Worker started execution") {
			if sm := startedRe.FindStringSubmatch(line); sm != nil {
				m[sm[1]] = w.Index
			}
		}
	}
	return m
}

// execInfo is what the suite reads of one execution from n8n.
type execInfo struct {
	id       string
	status   string
	n        int // what its webhook call posted
	worker   int // 0: no worker log names it
	codeFrom time.Time
	codeTook time.Duration
	codeRan  bool
	err      string // the Code node's (or the execution's) error message
}

// executionsOf fetches the executions of workflowID, which must be expected many, newest
// first, eight requests at a time. n8n's list pages by start time, which does not page through
// concurrent executions reliably, so they are fetched by id instead: the suite runs one
// workflow at a time, so a workflow's executions have consecutive ids, the newest of them on
// the list's first page; each one fetched must belong to workflowID.
func executionsOf(ctx context.Context, workflowID string, expected int) []execInfo {
	GinkgoHelper()
	Eventually(ctx, func() (int, error) { return client.ExecutionCount(ctx, workflowID) }).
		Should(Equal(expected), "n8n has one execution per call")
	list, err := client.Executions(ctx, workflowID)
	Expect(err).NotTo(HaveOccurred())
	newest := 0
	for _, e := range list {
		id, err := strconv.Atoi(e.ID)
		Expect(err).NotTo(HaveOccurred())
		newest = max(newest, id)
	}
	workers := workerOf()
	out := make([]execInfo, expected)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			defer GinkgoRecover()
			sem <- struct{}{}
			defer func() { <-sem }()
			id := strconv.Itoa(newest - i)
			var ex *n8n.Execution
			Eventually(ctx, func(g Gomega) {
				var err error
				ex, err = client.Execution(ctx, id)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(ex.Finished).To(BeTrue(), "execution %s is %s", id, ex.Status)
			}).Should(Succeed())
			Expect(ex.WorkflowID).To(Equal(workflowID), "execution %s belongs to the run's workflow", id)
			info := execInfo{id: id, status: ex.Status, n: -1, worker: workers[id]}
			if hook := ex.LastRun(n8n.WebhookNodeName); hook != nil && len(hook.Items) == 1 {
				if js, ok := hook.Items[0]["json"].(map[string]any); ok {
					if body, ok := js["body"].(map[string]any); ok {
						if n, ok := body["n"].(float64); ok {
							info.n = int(n)
						}
					}
				}
			}
			if code := ex.LastRun(n8n.CodeNodeName); code != nil {
				info.codeRan, info.codeFrom, info.codeTook = true, code.StartTime, code.ExecutionTime
				if code.Error != nil {
					info.err = code.Error.Message
				}
			}
			if info.err == "" && ex.Error != nil {
				info.err = ex.Error.Message
			}
			out[i] = info
		})
	}
	wg.Wait()
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }
