package cli_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/runwire/runwire/cli"
	"github.com/runwire/runwire/fsm"
	"github.com/runwire/runwire/specs/support"
)

const authToken = "cli-spec-auth-token-77aa"

// process is runwire's command line running in-process, as the binary would.
type process struct {
	stdout, stderr *gbytes.Buffer
	signals        chan os.Signal
	done           chan struct{}
	code           int
}

func start(args []string, environ ...string) *process {
	p := &process{stdout: gbytes.NewBuffer(), stderr: gbytes.NewBuffer(), signals: make(chan os.Signal, 2), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.code = cli.Main(context.Background(), cli.Env{
			Args: args, Environ: environ, Stdout: p.stdout, Stderr: p.stderr,
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

// exitCode waits for the command to end.
func (p *process) exitCode() int {
	EventuallyWithOffset(1, p.done).Should(BeClosed())
	return p.code
}

func newBroker() *support.Broker {
	b := support.NewBroker(authToken, nil)
	DeferCleanup(b.Close)
	return b
}

var _ = Describe("runwire run", Label("integration"), func() {
	It("prints the health line with the real port before the first dial, registers, and is ready", func(ctx SpecContext) {
		b := newBroker()
		b.HoldUpgrades()
		p := start(nil, "N8N_RUNNERS_TASK_BROKER_URI="+b.URL(), "N8N_RUNNERS_AUTH_TOKEN="+authToken,
			"N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED=true", "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=0",
			"RUNWIRE_PYTHON="+realPython(), "PATH="+os.Getenv("PATH"))

		Eventually(p.stdout).Should(gbytes.Say(`Health check server listening on 127\.0\.0\.1, port (\d+)\n`))
		port := regexp.MustCompile(`port (\d+)`).FindStringSubmatch(string(p.stdout.Contents()))[1]
		Expect(get("http://127.0.0.1:" + port + "/healthz")).To(Equal(http.StatusOK))
		Expect(get("http://127.0.0.1:" + port + "/readyz")).To(Equal(http.StatusServiceUnavailable))

		b.ReleaseUpgrades()
		Eventually(b.Registered()).Should(Receive())
		Eventually(p.stdout).Should(gbytes.Say(`Registered with broker`))
		// Ready once registered and Python runs.
		Eventually(func() int { return get("http://127.0.0.1:" + port + "/readyz") }).WithTimeout(10 * time.Second).Should(Equal(http.StatusOK))
		out := string(p.stdout.Contents())
		Expect(strings.Index(out, "Health check server listening")).To(BeNumerically("<", strings.Index(out, "Connecting to broker")), "the line comes before the first dial")
		Expect(out).NotTo(ContainSubstring(authToken))
	}, SpecTimeout(15*time.Second))

	It("connects with N8N_RUNNERS_ID as its id (the upgrade request's ?id=) when it is set", func(ctx SpecContext) {
		b := newBroker()
		start(nil, "N8N_RUNNERS_TASK_BROKER_URI="+b.URL(), "N8N_RUNNERS_AUTH_TOKEN="+authToken, "N8N_RUNNERS_ID=abc")
		var c *support.BrokerConn
		Eventually(b.Registered()).Should(Receive(&c))
		Expect(c.ID).To(Equal("abc"))
	}, SpecTimeout(15*time.Second))

	It("connects with a random id of its own when N8N_RUNNERS_ID is not set", func(ctx SpecContext) {
		b := newBroker()
		start(nil, "N8N_RUNNERS_TASK_BROKER_URI="+b.URL(), "N8N_RUNNERS_AUTH_TOKEN="+authToken)
		var c *support.BrokerConn
		Eventually(b.Registered()).Should(Receive(&c))
		Expect(c.ID).To(MatchRegexp(`^[0-9A-Za-z]{22}$`))
	}, SpecTimeout(15*time.Second))

	It("logs bare message lines with the state changes when stdout is not a terminal", func(ctx SpecContext) {
		b := newBroker()
		p := start(nil, "N8N_RUNNERS_TASK_BROKER_URI="+b.URL(), "N8N_RUNNERS_AUTH_TOKEN="+authToken)
		Eventually(b.Registered()).Should(Receive())
		Eventually(p.stdout).Should(gbytes.Say(`(?m)^Connecting to broker from=Idle to=Connecting event=start`))
		Eventually(p.stdout).Should(gbytes.Say(`(?m)^Connected to broker from=Connecting to=Listening event=connected`))
	}, SpecTimeout(15*time.Second))

	It("stops on SIGTERM: closes with 1001 and exits 0", func(ctx SpecContext) {
		b := newBroker()
		p := start(nil, "N8N_RUNNERS_TASK_BROKER_URI="+b.URL(), "N8N_RUNNERS_AUTH_TOKEN="+authToken)
		var c *support.BrokerConn
		Eventually(b.Registered()).Should(Receive(&c))
		p.signals <- syscall.SIGTERM
		Expect(p.exitCode()).To(Equal(cli.ExitOK))
		Eventually(c.Closed()).Should(BeClosed())
		Expect(c.CloseCode()).To(Equal(websocket.StatusGoingAway))
		Expect(string(p.stdout.Contents())).To(ContainSubstring("Runner stopped"))
	}, SpecTimeout(15*time.Second))

	It("exits 3 when the broker refuses the grant token, naming the fix", func(ctx SpecContext) {
		b := newBroker()
		p := start(nil, "N8N_RUNNERS_TASK_BROKER_URI="+b.URL(), "N8N_RUNNERS_GRANT_TOKEN=spent-grant-31cd")
		Expect(p.exitCode()).To(Equal(cli.ExitAuthFailed))
		Expect(string(p.stdout.Contents())).To(ContainSubstring("set N8N_RUNNERS_AUTH_TOKEN"))
		Expect(string(p.stdout.Contents())).NotTo(ContainSubstring("spent-grant-31cd"))
		Expect(b.Dials()).To(Equal(1))
	}, SpecTimeout(15*time.Second))

	It("with only a grant token, stops cleanly (exit 0) when the broker drains, without a second dial", func(ctx SpecContext) {
		b := newBroker()
		p := start(nil, "N8N_RUNNERS_TASK_BROKER_URI="+b.URL(), "N8N_RUNNERS_GRANT_TOKEN="+b.IssueGrant())
		var conn *support.BrokerConn
		Eventually(b.Registered()).Should(Receive(&conn))
		Expect(conn.SendJSON(ctx, map[string]any{"type": "broker:drain"})).To(Succeed())
		Eventually(conn.Closed()).Should(BeClosed())
		Expect(conn.CloseCode()).To(Equal(websocket.StatusGoingAway))
		Expect(p.exitCode()).To(Equal(cli.ExitOK))
		Expect(string(p.stdout.Contents())).To(ContainSubstring("grant token cannot be renewed"))
		Expect(b.Dials()).To(Equal(1))
	}, SpecTimeout(15*time.Second))

	It("with an auth token, keeps running through a drain and re-registers once the broker is back", func(ctx SpecContext) {
		b := newBroker()
		p := start(nil, "N8N_RUNNERS_TASK_BROKER_URI="+b.URL(), "N8N_RUNNERS_AUTH_TOKEN="+authToken,
			"RUNWIRE_BACKOFF_INITIAL=10ms")
		var conn *support.BrokerConn
		Eventually(b.Registered()).Should(Receive(&conn))
		Expect(conn.SendJSON(ctx, map[string]any{"type": "broker:drain"})).To(Succeed())
		conn.Close(websocket.StatusGoingAway)
		Eventually(b.Registered()).Should(Receive())
		Consistently(p.done, 200*time.Millisecond).ShouldNot(BeClosed())
		Expect(b.AuthRequests()).To(Equal(2))
	}, SpecTimeout(15*time.Second))

	It("exits 0 after the idle timeout", func(ctx SpecContext) {
		b := newBroker()
		p := start(nil, "N8N_RUNNERS_TASK_BROKER_URI="+b.URL(), "N8N_RUNNERS_AUTH_TOKEN="+authToken, "N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT=1")
		Eventually(b.Registered()).Should(Receive())
		Expect(p.exitCode()).To(Equal(cli.ExitOK))
		Expect(string(p.stdout.Contents())).To(ContainSubstring("Reached idle timeout"))
	}, SpecTimeout(15*time.Second))

	It("exits 2 on a configuration error, naming both credential variables", func() {
		p := start(nil, "N8N_RUNNERS_TASK_BROKER_URI=http://127.0.0.1:1")
		Expect(p.exitCode()).To(Equal(cli.ExitConfig))
		Expect(string(p.stderr.Contents())).To(And(ContainSubstring("N8N_RUNNERS_AUTH_TOKEN"), ContainSubstring("N8N_RUNNERS_GRANT_TOKEN")))
	})

	It("exits 1 when the health port is taken, naming the setting", func(ctx SpecContext) {
		b := newBroker()
		first := start(nil, "N8N_RUNNERS_TASK_BROKER_URI="+b.URL(), "N8N_RUNNERS_AUTH_TOKEN="+authToken,
			"N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED=true", "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=0")
		Eventually(first.stdout).Should(gbytes.Say(`port (\d+)`))
		port := regexp.MustCompile(`port (\d+)`).FindStringSubmatch(string(first.stdout.Contents()))[1]
		second := start(nil, "N8N_RUNNERS_TASK_BROKER_URI="+b.URL(), "N8N_RUNNERS_AUTH_TOKEN="+authToken,
			"N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED=true", "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT="+port)
		Expect(second.exitCode()).To(Equal(cli.ExitFailure))
		Expect(string(second.stdout.Contents())).To(ContainSubstring("N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT"))
	}, SpecTimeout(15*time.Second))
})

var _ = Describe("runwire run without a usable Python", Label("integration"), func() {
	tooOld := func() string {
		// Answers the version probe as a Python 3.8 would.
		path := filepath.Join(GinkgoT().TempDir(), "python3")
		Expect(os.WriteFile(path, []byte("#!/bin/sh\necho /opt/old/bin/python3\necho 3.8.10\n"), 0o700)).To(Succeed())
		return path
	}
	missing := func() string { return "/nonexistent/python3" }

	DescribeTable("registers, keeps offering python, and answers a task at once with the reason; /readyz says it too",
		func(ctx SpecContext, interpreter func() string, why string) {
			b := newBroker()
			p := start(nil, "N8N_RUNNERS_TASK_BROKER_URI="+b.URL(), "N8N_RUNNERS_AUTH_TOKEN="+authToken,
				"RUNWIRE_PYTHON="+interpreter(), "PATH="+os.Getenv("PATH"),
				"N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED=true", "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=0")
			var c *support.BrokerConn
			Eventually(b.Registered()).Should(Receive(&c))
			Eventually(p.stdout).Should(gbytes.Say(`Python is not available on this runner: .*` + regexp.QuoteMeta(why)))
			port := regexp.MustCompile(`port (\d+)`).FindStringSubmatch(string(p.stdout.Contents()))[1]
			status, body := getBody("http://127.0.0.1:" + port + "/readyz")
			Expect(status).To(Equal(http.StatusServiceUnavailable))
			Expect(body).To(And(HavePrefix("Not ready: python: Python is not available on this runner: "), ContainSubstring(why)))

			in := support.NewInbox(ctx, c)
			offer, _ := in.Await("a runner:taskoffer", support.IsType("runner:taskoffer"))["offerId"].(string)
			Expect(c.SendJSON(ctx, map[string]any{"type": "broker:taskofferaccept", "taskId": "T1", "offerId": offer})).To(Succeed())
			in.Await("runner:taskaccepted", support.IsType("runner:taskaccepted"))
			Expect(c.SendJSON(ctx, map[string]any{"type": "broker:tasksettings", "taskId": "T1", "settings": map[string]any{
				"code": "return []", "nodeMode": "runOnceForAllItems", "workflowMode": "manual", "continueOnFail": false, "items": []any{},
			}})).To(Succeed())
			outcome := in.AwaitWithin(time.Second, "T1's outcome within 1 s", support.IsTerminal("T1"))
			Expect(outcome).To(HaveKeyWithValue("type", "runner:taskerror"))
			Expect(outcome).To(HaveKeyWithValue("error", HaveKeyWithValue("message",
				And(HavePrefix("Python is not available on this runner: "), ContainSubstring("RUNWIRE_PYTHON"), ContainSubstring(why)))))
			Expect(strings.Count(string(p.stdout.Contents()), "Python is not available on this runner")).To(Equal(2),
				"logged once when it became unavailable, once for the task")
		},
		Entry("missing", missing, "RUNWIRE_PYTHON=/nonexistent/python3 does not exist", SpecTimeout(15*time.Second)),
		Entry("too old", tooOld, "too old: runwire needs Python 3.9 or newer", SpecTimeout(15*time.Second)),
		Entry("exiting at once", func() string {
			path := filepath.Join(GinkgoT().TempDir(), "python3")
			Expect(os.WriteFile(path, []byte("#!/bin/sh\nexit 1\n"), 0o700)).To(Succeed())
			return path
		}, "does not run: exit status 1", SpecTimeout(15*time.Second)),
	)

	It("with RUNWIRE_UNAVAILABLE=withdraw, registers and offers no python task", func(ctx SpecContext) {
		b := newBroker()
		p := start(nil, "N8N_RUNNERS_TASK_BROKER_URI="+b.URL(), "N8N_RUNNERS_AUTH_TOKEN="+authToken,
			"RUNWIRE_PYTHON="+missing(), "RUNWIRE_UNAVAILABLE=withdraw")
		var c *support.BrokerConn
		Eventually(b.Registered()).Should(Receive(&c))
		Eventually(p.stdout).Should(gbytes.Say(`Python is not available on this runner: RUNWIRE_PYTHON=/nonexistent/python3 does not exist`))
		Consistently(func() []map[string]any { return c.Received() }, 500*time.Millisecond).
			ShouldNot(ContainElement(HaveKeyWithValue("type", "runner:taskoffer")), "no runner:taskoffer, ever")
	}, SpecTimeout(15*time.Second))
})

var _ = Describe("runwire's other commands", func() {
	It("diagram prints the machine's Mermaid", func() {
		p := start([]string{"diagram"})
		Expect(p.exitCode()).To(Equal(cli.ExitOK))
		Expect(string(p.stdout.Contents())).To(Equal(fsm.Mermaid()))
	})

	It("diagram --markdown prints docs/state-machine.md", func() {
		p := start([]string{"diagram", "--markdown"})
		Expect(p.exitCode()).To(Equal(cli.ExitOK))
		Expect(string(p.stdout.Contents())).To(Equal(fsm.Markdown()))
	})

	It("config prints the effective configuration with secrets redacted", func() {
		p := start([]string{"config"}, "N8N_RUNNERS_AUTH_TOKEN="+authToken, "N8N_RUNNERS_MAX_CONCURRENCY=7")
		Expect(p.exitCode()).To(Equal(cli.ExitOK))
		Expect(string(p.stdout.Contents())).To(ContainSubstring("max_concurrency: 7"))
		Expect(string(p.stdout.Contents())).NotTo(ContainSubstring(authToken))
	})

	It("version prints the version", func() {
		p := start([]string{"version"})
		Expect(p.exitCode()).To(Equal(cli.ExitOK))
		Expect(string(p.stdout.Contents())).To(HavePrefix("runwire spec (commit 0123abc, go"))
	})

	It("--help prints the commands, the exit codes and the settings", func() {
		p := start([]string{"--help"})
		Expect(p.exitCode()).To(Equal(cli.ExitOK))
		Expect(string(p.stdout.Contents())).To(And(ContainSubstring("runwire diagram"), ContainSubstring("Exit codes"), ContainSubstring("N8N_RUNNERS_TASK_BROKER_URI")))
	})

	It("refuses an unknown command with exit 2", func() {
		p := start([]string{"frobnicate"})
		Expect(p.exitCode()).To(Equal(cli.ExitConfig))
		Expect(string(p.stderr.Contents())).To(ContainSubstring(`unknown command "frobnicate"`))
	})
})

// getBody is get with the body.
func getBody(url string) (int, string) {
	resp, err := http.Get(url) //nolint:gosec,noctx // loopback spec request
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// realPython is pythonPath's interpreter path; the spec fails without one.
func realPython() string {
	GinkgoHelper()
	in, err := pythonPath()
	Expect(err).NotTo(HaveOccurred(), "the spec needs Python 3 (RUNWIRE_PYTHON or python3 on PATH)")
	return in.Path
}

func get(url string) int {
	resp, err := http.Get(url) //nolint:gosec,noctx // loopback spec request
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}
