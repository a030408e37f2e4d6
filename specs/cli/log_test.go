package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/runwire/runwire/cli"
	"github.com/runwire/runwire/specs/support"
)

// Secret values, each where an operator or a user puts secrets; no line of the log may hold
// one, nor anything of a task's code or data.
const (
	logAuthToken  = "log-spec-auth-token-5e1f"     // N8N_RUNNERS_AUTH_TOKEN
	logGrantEnv   = "log-spec-grant-token-a07d"    // N8N_RUNNERS_GRANT_TOKEN (ignored beside the auth token)
	logPassword   = "log-spec-db-password-c3b9"    // a variable named like a password
	logCodeMarker = "log-spec-code-marker-71e2"    // only in the tasks' code (a comment)
	logItemSecret = "log-spec-item-secret-0d4a"    // in the items the broker sends
	logRaised     = "log-spec-raised-text-9b3c"    // the text of an exception a task raises
	logPrinted    = "log-spec-printed-value-e6f0"  // what a task prints
	logReturned   = "log-spec-returned-value-58aa" // in a task's result
)

// startLogged runs the command line in-process with stdout a terminal or not.
func startLogged(terminal bool, environ ...string) *process {
	p := &process{stdout: gbytes.NewBuffer(), stderr: gbytes.NewBuffer(), signals: make(chan os.Signal, 2), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.code = cli.Main(context.Background(), cli.Env{
			Environ: environ, Stdout: p.stdout, Stderr: p.stderr, Terminal: terminal,
			Signals: p.signals, Version: "spec", Commit: "0123abc",
		})
	}()
	DeferCleanup(func() {
		select {
		case p.signals <- syscall.SIGTERM:
		default:
		}
		Eventually(p.done).Should(BeClosed())
	})
	return p
}

// sendTask accepts taskID on the next offer and sends settings carrying the item secret.
func sendTask(in *support.Inbox, taskID, code string) {
	GinkgoHelper()
	offer, _ := in.Await("a runner:taskoffer", support.IsType("runner:taskoffer"))["offerId"].(string)
	in.Send(map[string]any{"type": "broker:taskofferaccept", "taskId": taskID, "offerId": offer})
	in.Await("runner:taskaccepted", support.IsType("runner:taskaccepted"))
	in.Send(map[string]any{"type": "broker:tasksettings", "taskId": taskID, "settings": map[string]any{
		"code": "# " + logCodeMarker + "\n" + code, "nodeMode": "runOnceForAllItems", "continueOnFail": false,
		"items":        []any{map[string]any{"json": map[string]any{"password": logItemSecret}}},
		"workflowMode": "manual", "nodeId": "n-7", "nodeName": "Code in Python", "workflowId": "w-7", "workflowName": "Log spec",
	}})
}

var _ = Describe("The log", Label("integration"), func() {
	type run struct {
		format   string // RUNWIRE_LOG_FORMAT, empty for the default (auto)
		terminal bool
		level    string // N8N_RUNNERS_LAUNCHER_LOG_LEVEL, empty for INFO
		grant    bool   // the launcher's way: a grant token only, no auth token
		header   string // what comes before "Task ..." on a line (text formats)
	}
	textHeader := `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}  (\x1b\[\d+m)?INFO(\x1b\[0m)?  `

	DescribeTable("holds no secret, code or item of a run with a task done, one failed and one timed out, and has each task's line",
		func(ctx SpecContext, r run) {
			b := support.NewBroker(logAuthToken, nil)
			DeferCleanup(b.Close)
			in, err := pythonPath()
			Expect(err).NotTo(HaveOccurred(), "these specs need Python 3 (RUNWIRE_PYTHON or python3 on PATH)")
			env := []string{
				"N8N_RUNNERS_TASK_BROKER_URI=" + b.URL(), "RUNWIRE_PYTHON=" + in.Path, "N8N_RUNNERS_TASK_TIMEOUT=1", "N8N_RUNNERS_STDLIB_ALLOW=time",
				"DB_POSTGRESDB_PASSWORD=" + logPassword, "N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED=true", "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=0",
			}
			secrets := []string{logAuthToken, logGrantEnv, logPassword}
			if r.grant {
				grant := b.IssueGrant()
				env = append(env, "N8N_RUNNERS_GRANT_TOKEN="+grant)
				secrets = append(secrets, grant)
			} else {
				env = append(env, "N8N_RUNNERS_AUTH_TOKEN="+logAuthToken, "N8N_RUNNERS_GRANT_TOKEN="+logGrantEnv)
			}
			if r.format != "" {
				env = append(env, "RUNWIRE_LOG_FORMAT="+r.format)
			}
			if r.level != "" {
				env = append(env, "N8N_RUNNERS_LAUNCHER_LOG_LEVEL="+r.level)
			}
			p := startLogged(r.terminal, env...)
			var c *support.BrokerConn
			Eventually(ctx, b.Registered()).Should(Receive(&c))
			inbox := support.NewInbox(ctx, c)
			base := healthBase(p)
			Eventually(ctx, func() int { status, _ := health(base + "/readyz"); return status }).Should(Equal(200), "Python runs")

			sendTask(inbox, "L1", "print('"+logPrinted+"')\nreturn [{'json': {'v': '"+logReturned+"', 'in': _items[0]['json']['password']}}]")
			Expect(inbox.Await("L1's outcome", support.IsTerminal("L1"))).To(HaveKeyWithValue("type", "runner:taskdone"))
			sendTask(inbox, "L2", "raise ValueError('"+logRaised+"' + _items[0]['json']['password'])")
			Expect(inbox.Await("L2's outcome", support.IsTerminal("L2"))).To(HaveKeyWithValue("type", "runner:taskerror"))
			sendTask(inbox, "L3", "import time\ntime.sleep(30)\nreturn []")
			Expect(inbox.Await("L3's outcome", support.IsTerminal("L3"))).To(HaveKeyWithValue("type", "runner:taskerror"))
			Eventually(ctx, func() string { return string(p.stdout.Contents()) }).Should(ContainSubstring("L3"), "L3's line")

			p.signals <- syscall.SIGTERM
			Expect(p.exitCode()).To(Equal(0))
			log := string(p.stdout.Contents()) + string(p.stderr.Contents())
			for _, s := range append(secrets, logCodeMarker, logItemSecret, logRaised, logPrinted, logReturned) {
				Expect(log).NotTo(ContainSubstring(s))
			}
			Expect(log).To(ContainSubstring("Python task isolation in force: "), "the executor's walls line")
			Expect(log).To(ContainSubstring("Registered with broker"))

			lines := map[string]string{}
			for line := range strings.Lines(log) {
				for _, id := range []string{"L1", "L2", "L3"} {
					mentions := strings.Contains(line, id)
					if r.level == "debug" { // also "Accepted task L1" and the like
						mentions = strings.Contains(line, "task_id="+id+" ")
					}
					if mentions {
						Expect(lines).NotTo(HaveKey(id), "one line for "+id+":\n"+log)
						lines[id] = line
					}
				}
			}
			Expect(lines).To(HaveLen(3), log)
			if r.format == "json" {
				for id, outcome := range map[string]string{"L1": "done", "L2": "error", "L3": "timeout"} {
					var rec map[string]any
					Expect(json.Unmarshal([]byte(lines[id]), &rec)).To(Succeed(), lines[id])
					Expect(rec).To(HaveKeyWithValue("msg", "Task "+outcome))
					Expect(rec).To(HaveKeyWithValue("task_id", id))
					Expect(rec).To(HaveKeyWithValue("outcome", outcome))
					Expect(rec).To(HaveKeyWithValue("node", "Code in Python"))
					Expect(rec).To(HaveKeyWithValue("workflow", "Log spec"))
					Expect(rec).To(HaveKey("duration"))
				}
				return
			}
			fields := ` node="Code in Python" workflow="Log spec" duration=[0-9.]+(µs|ms|s)`
			Expect(lines["L1"]).To(MatchRegexp(`^` + r.header + `Task done task_id=L1 outcome=done` + fields + `\n$`))
			Expect(lines["L2"]).To(MatchRegexp(`^` + r.header + `Task error task_id=L2 outcome=error` + fields + `\n$`))
			Expect(lines["L3"]).To(MatchRegexp(`^` + r.header + `Task timeout task_id=L3 outcome=timeout` + fields +
				regexp.QuoteMeta(` reason="ran longer than N8N_RUNNERS_TASK_TIMEOUT (1s)"`) + `\n$`))
		},
		Entry("auto on a terminal: text, coloured", SpecTimeout(slowSpec), run{terminal: true, header: textHeader}),
		Entry("auto, not a terminal: the bare lines n8n's launcher forwards, with a grant token as the launcher gives it", SpecTimeout(slowSpec), run{grant: true}),
		Entry("json", SpecTimeout(slowSpec), run{format: "json"}),
		Entry("text at DEBUG", SpecTimeout(slowSpec), run{format: "text", level: "debug", header: textHeader}),
	)
})
