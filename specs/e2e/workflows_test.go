//go:build e2e

package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/e2e/n8n"
)

// run deploys wf, posts body to its webhook once, and returns the answer and the execution.
func run(ctx context.Context, wf n8n.Workflow, body any) (int, []byte, *n8n.Execution) {
	GinkgoHelper()
	id := deploy(ctx, wf)
	status, answer, err := client.Webhook(ctx, webhookPath(wf), body)
	Expect(err).NotTo(HaveOccurred())
	exec, err := client.LatestExecution(ctx, id)
	Expect(err).NotTo(HaveOccurred())
	return status, answer, exec
}

// python is a Webhook → Python Code workflow on a fresh webhook path.
func python(name, code, mode string, continueOnFail bool) n8n.Workflow {
	return n8n.PythonWebhookWorkflow("e2e: "+name, uniquePath(name), code, mode, continueOnFail)
}

func webhookPath(wf n8n.Workflow) string {
	return wf.Nodes[0].Parameters["path"].(string)
}

// codeError is the Code node's error in exec.
func codeError(exec *n8n.Execution) *n8n.NodeError {
	GinkgoHelper()
	runData := exec.LastRun(n8n.CodeNodeName)
	Expect(runData).NotTo(BeNil(), "the Code node ran")
	Expect(runData.Error).NotTo(BeNil(), "the Code node failed")
	return runData.Error
}

var _ = Describe("Python Code nodes in n8n, run by runwire", Label("e2e"), func() {
	BeforeEach(func() { startRunwire() })

	It("runs an all-items node once with every item, and its list of dicts becomes the node's items", func(ctx SpecContext) {
		status, answer, exec := run(ctx, python("all-items", `
n = _items[0]["json"]["body"]["n"]
return [{"json": {"i": i, "n": n * i, "inputs": len(_items), "text": "héllo ✓"}} for i in range(3)]`,
			n8n.RunOnceForAllItems, false), map[string]any{"n": 7})
		Expect(status).To(Equal(http.StatusOK), string(answer))
		Expect(answer).To(MatchJSON(`[
			{"i": 0, "n": 0, "inputs": 1, "text": "héllo ✓"},
			{"i": 1, "n": 7, "inputs": 1, "text": "héllo ✓"},
			{"i": 2, "n": 14, "inputs": 1, "text": "héllo ✓"}]`))
		Expect(exec.Status).To(Equal("success"))
		Expect(exec.LastRun(n8n.CodeNodeName).Items).To(HaveLen(3))
	})

	It("runs a per-item node once per item: None drops the item, pairedItem points at the input", func(ctx SpecContext) {
		wf := python("per-item", `
v = _item["json"]["v"]
if v == 2:
    return None
return {"json": {"v": v, "double": v * 2}}`, n8n.RunOnceForEachItem, false)
		// A first Python node makes three items for the per-item node.
		items := wf.Nodes[1]
		items.Name, items.ID = "Items", ""
		items.Parameters = map[string]any{"language": "pythonNative", "mode": n8n.RunOnceForAllItems,
			"pythonCode": `return [{"json": {"v": v}} for v in (1, 2, 3)]`}
		wf.Nodes = append(wf.Nodes, items)
		wf.Connections = n8n.Chain(n8n.WebhookNodeName, "Items", n8n.CodeNodeName)

		status, answer, exec := run(ctx, wf, map[string]any{})
		Expect(status).To(Equal(http.StatusOK), string(answer))
		Expect(answer).To(MatchJSON(`[{"v": 1, "double": 2}, {"v": 3, "double": 6}]`))
		out := exec.LastRun(n8n.CodeNodeName).Items
		Expect(out).To(HaveLen(2))
		Expect(out[0]["pairedItem"]).To(Equal(map[string]any{"item": float64(0)}))
		Expect(out[1]["pairedItem"]).To(Equal(map[string]any{"item": float64(2)}))
	})

	It("sends print() output to n8n, in order and formatted as n8n's Python runner does", func(ctx SpecContext) {
		wf := python("print", `
print("hello", 42, None, {"a": [1, 2]})
print("ünïcode")
return [{"json": {"printed": 2}}]`, n8n.RunOnceForAllItems, false)
		status, answer, exec := run(ctx, wf, map[string]any{})
		Expect(status).To(Equal(http.StatusOK), string(answer))
		tag := fmt.Sprintf(`[Workflow "%s"][Node "%s"]`, exec.WorkflowID, n8n.CodeNodeName)
		var lines []string
		Eventually(func() []string { lines = server.LogLines(tag); return lines }).Should(HaveLen(2))
		Expect(strings.TrimSpace(strings.TrimPrefix(lines[0], tag))).To(Equal(`'hello' 42 None {"a": [1, 2]}`))
		Expect(strings.TrimSpace(strings.TrimPrefix(lines[1], tag))).To(Equal(`'ünïcode'`))
	})

	It("fails the node with the exception's message, and the workflow with it", func(ctx SpecContext) {
		status, _, exec := run(ctx, python("exception", `raise ValueError("boom: the input was wrong")`, n8n.RunOnceForAllItems, false), map[string]any{})
		Expect(status).To(Equal(http.StatusInternalServerError))
		Expect(exec.Status).To(Equal("error"))
		Expect(codeError(exec).Message).To(Equal("boom: the input was wrong"))
	})

	It("under continue-on-fail turns the error into an item and the workflow succeeds", func(ctx SpecContext) {
		status, answer, exec := run(ctx, python("continue-on-fail", `raise ValueError("boom")`, n8n.RunOnceForAllItems, true), map[string]any{})
		Expect(status).To(Equal(http.StatusOK), string(answer))
		Expect(answer).To(MatchJSON(`[{"error": "boom"}]`))
		Expect(exec.Status).To(Equal("success"))
	})

	It("refuses a standard-library import that N8N_RUNNERS_STDLIB_ALLOW does not allow, with n8n's security-violation error", func(ctx SpecContext) {
		status, _, exec := run(ctx, python("denied-import", "import json\nreturn [{\"json\": {\"s\": json.dumps([1])}}]", n8n.RunOnceForAllItems, false), map[string]any{})
		Expect(status).To(Equal(http.StatusInternalServerError))
		err := codeError(exec)
		Expect(err.Message).To(Equal("Security violations detected"))
		Expect(err.Description).To(Equal("Line 1: Import of standard library module 'json' is disallowed. Allowed stdlib modules: none"))
	})

	It("runs 20 concurrent executions, each with its own correct result", func(ctx SpecContext) {
		wf := python("concurrent", `return [{"json": {"n": _items[0]["json"]["body"]["n"] * 3}}]`, n8n.RunOnceForAllItems, false)
		deploy(ctx, wf)
		var wg sync.WaitGroup
		answers := make([]string, 20)
		for i := range answers {
			wg.Go(func() {
				defer GinkgoRecover()
				status, body, err := client.Webhook(ctx, webhookPath(wf), map[string]any{"n": i})
				Expect(err).NotTo(HaveOccurred())
				Expect(status).To(Equal(http.StatusOK), string(body))
				answers[i] = string(body)
			})
		}
		wg.Wait()
		for i, a := range answers {
			Expect(a).To(MatchJSON(fmt.Sprintf(`[{"n": %d}]`, i*3)), "execution %d", i)
		}
	}, SpecTimeout(2*time.Minute))
})

var _ = Describe("runwire's own settings, seen from n8n", Label("e2e"), func() {
	It("allows that import with N8N_RUNNERS_STDLIB_ALLOW=json", func(ctx SpecContext) {
		startRunwire("N8N_RUNNERS_STDLIB_ALLOW=json")
		status, answer, _ := run(ctx, python("allowed-import", "import json\nreturn [{\"json\": {\"s\": json.dumps([1])}}]", n8n.RunOnceForAllItems, false), map[string]any{})
		Expect(status).To(Equal(http.StatusOK), string(answer))
		Expect(answer).To(MatchJSON(`[{"s": "[1]"}]`))
	})

	It("runs a Code node using pandas, preloaded (RUNWIRE_PYTHON_PRELOAD=pandas, Debian's python3-pandas)", func(ctx SpecContext) {
		const debianPython = "/usr/bin/python3"
		if err := exec.CommandContext(ctx, debianPython, "-c", "import pandas").Run(); err != nil {
			Skip(fmt.Sprintf("needs Debian's python3-pandas for %s (make e2e installs it: e2e/scripts/install-python-pandas.sh): %v", debianPython, err))
		}
		r := startRunwire("RUNWIRE_PYTHON="+debianPython, "RUNWIRE_PYTHON_PRELOAD=pandas", "N8N_RUNNERS_EXTERNAL_ALLOW=pandas")
		code := "import pandas as pd\n" +
			"s = pd.DataFrame([{\"k\": i % 7, \"v\": i} for i in range(200)]).groupby(\"k\")[\"v\"].sum()\n" +
			"return [{\"json\": {str(k): int(v) for k, v in s.items()}}]"
		status, answer, _ := run(ctx, python("pandas", code, n8n.RunOnceForAllItems, false), map[string]any{})
		Expect(status).To(Equal(http.StatusOK), string(answer))
		Expect(answer).To(MatchJSON(`[{"0": 2842, "1": 2871, "2": 2900, "3": 2929, "4": 2758, "5": 2786, "6": 2814}]`))
		Expect(string(r.session.Out.Contents())).To(MatchRegexp(`Python modules preloaded in the zygote.*pandas \(\d+ ms\)`),
			"pandas was loaded by the zygote, before the fork")
	}, SpecTimeout(time.Minute))

	It("times a task out after N8N_RUNNERS_TASK_TIMEOUT with n8n's message, leaves no process behind and runs the next task", func(ctx SpecContext) {
		r := startRunwire("N8N_RUNNERS_TASK_TIMEOUT=2")
		status, answer, _ := run(ctx, python("before-timeout", `return [{"json": {"ok": True}}]`, n8n.RunOnceForAllItems, false), map[string]any{})
		Expect(status).To(Equal(http.StatusOK), string(answer))
		before := settled(func() int { return descendants(r.session.Command.Process.Pid) })
		Expect(before).To(BeNumerically(">", 1), "the zygote and at least one pre-forked child")

		status, _, exec := run(ctx, python("timeout", "while True:\n    pass", n8n.RunOnceForAllItems, false), map[string]any{})
		Expect(status).To(Equal(http.StatusInternalServerError))
		Expect(codeError(exec).Message).To(Equal("Task execution timed out after 2 seconds"))
		Eventually(func() int { return descendants(r.session.Command.Process.Pid) }).Should(Equal(before), "the looping process is gone and the pool refilled")

		status, answer, _ = run(ctx, python("after-timeout", `return [{"json": {"ok": True}}]`, n8n.RunOnceForAllItems, false), map[string]any{})
		Expect(status).To(Equal(http.StatusOK), string(answer))
		Expect(answer).To(MatchJSON(`[{"ok": true}]`))
	}, SpecTimeout(2*time.Minute))
})
