package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/runwire/runwire/e2e/n8n"
)

type demo struct {
	out           io.Writer
	runwire       string
	installScript string
	dir           string
}

func (d *demo) statePath() string { return filepath.Join(d.dir, "state.json") }

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.out, format+"\n", args...) }

// sampleCode is the demo's Python Code node: every person in the webhook's body becomes an
// item, and each one is printed to the console.
const sampleCode = `# This runs in runwire, not in n8n: each person posted to the webhook becomes an item.
people = _items[0]["json"]["body"]["people"]
out = []
for person in people:
    print("greeting", person["name"], {"city": person["city"]})
    out.append({"json": {
        "greeting": f"Hello, {person['name']}!",
        "letters": len(person["name"]),
        "city": person["city"].upper(),
    }})
return out`

var (
	samplePeople = []map[string]string{
		{"name": "Ada", "city": "London"},
		{"name": "Grace", "city": "Arlington"},
		{"name": "Linus", "city": "Helsinki"},
	}
	sampleBody = map[string]any{"people": samplePeople}
)

func (d *demo) up(ctx context.Context) error {
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return err
	}
	runwire, err := filepath.Abs(d.runwire)
	if err != nil {
		return err
	}
	if _, err := os.Stat(runwire); err != nil {
		return fmt.Errorf("runwire binary: %w (run `make build` first)", err)
	}
	st, err := loadState(d.statePath())
	if err != nil {
		return err
	}

	d.say("==> n8n: installing if missing (once per machine: about 7 minutes and 3 GB)")
	installDir, err := n8n.Install(ctx, d.installScript, os.Stderr)
	if err != nil {
		return err
	}

	opts := n8n.Options{
		InstallDir: installDir,
		UserFolder: filepath.Join(d.dir, "n8n"),
		AuthToken:  st.AuthToken,
		Port:       st.Port,
		BrokerPort: st.BrokerPort,
		LogPath:    filepath.Join(d.dir, "n8n.log"),
	}
	if alive(st.N8nPID, "n8n") {
		d.say("==> n8n: already running (pid %d)", st.N8nPID)
	} else {
		if opts.Port == 0 {
			opts.Port = preferPort(5678)
			opts.BrokerPort = preferPort(5679)
		}
		d.say("==> n8n: starting on 127.0.0.1:%d, task broker on 127.0.0.1:%d (log: %s)", opts.Port, opts.BrokerPort, opts.LogPath)
		t0 := time.Now()
		sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		srv, err := n8n.Start(sctx, opts)
		cancel()
		if err != nil {
			return err
		}
		st.N8nPID, st.Port, st.BrokerPort = srv.PID(), opts.Port, opts.BrokerPort
		if err := st.save(d.statePath()); err != nil {
			return err
		}
		d.say("    ready in %.1f s", time.Since(t0).Seconds())
	}
	base := "http://127.0.0.1:" + strconv.Itoa(st.Port)
	broker := "http://127.0.0.1:" + strconv.Itoa(st.BrokerPort)

	client := n8n.NewClient(base)
	if err := client.SetupOwner(ctx, st.Email, st.Password, "Demo", "User"); err != nil && !errors.Is(err, n8n.ErrOwnerExists) {
		return err
	}
	if err := client.Login(ctx, st.Email, st.Password); err != nil {
		return fmt.Errorf("%w (the login in %s no longer matches n8n's owner; `make demo-down` and remove %s to start afresh)", err, d.statePath(), d.dir)
	}

	if alive(st.RunwirePID, "runwire") && healthy(st.HealthPort) {
		d.say("==> runwire: already running (pid %d)", st.RunwirePID)
	} else {
		d.say("==> runwire: starting against %s (log: %s)", broker, filepath.Join(d.dir, "runwire.log"))
		t0 := time.Now()
		pid, health, err := startRunwire(ctx, runwire, broker, st.AuthToken, filepath.Join(d.dir, "runwire.log"))
		if err != nil {
			return err
		}
		st.RunwirePID, st.HealthPort = pid, health
		if err := st.save(d.statePath()); err != nil {
			return err
		}
		d.say("    registered with n8n's broker in %d ms", time.Since(t0).Milliseconds())
	}

	if st.WorkflowID == "" {
		st.WebhookPath = "runwire-demo-" + randomHex(4)
		wf := n8n.PythonWebhookWorkflow("runwire demo: Python Code node", st.WebhookPath, sampleCode, "runOnceForAllItems", false)
		created, err := client.CreateWorkflow(ctx, wf)
		if err != nil {
			return err
		}
		if err := client.Activate(ctx, created.ID, created.VersionID); err != nil {
			return err
		}
		st.WorkflowID = created.ID
		if err := st.save(d.statePath()); err != nil {
			return err
		}
	}
	return d.runSample(ctx, client, st, opts.LogPath)
}

// runSample triggers the sample workflow once and shows what came back, then times a series of
// runs.
func (d *demo) runSample(ctx context.Context, client *n8n.Client, st state, n8nLog string) error {
	runwireLog := filepath.Join(d.dir, "runwire.log")
	d.say("==> the sample workflow: POST /webhook/%s → Python Code node (in runwire)", st.WebhookPath)
	in, _ := json.Marshal(sampleBody)
	d.say("    input:  %s", in)
	logStart := fileSize(n8nLog)
	t0 := time.Now()
	status, body, err := client.Webhook(ctx, st.WebhookPath, sampleBody)
	first := time.Since(t0)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("the webhook answered %d: %s", status, body)
	}
	d.say("    output: %s", body)

	d.say("==> console output of the Code node (print → runwire → n8n, CODE_ENABLE_STDOUT=true)")
	tag := `[Workflow "` + st.WorkflowID + `"]`
	// One line per person; n8n writes them a moment after it answers the webhook.
	var lines []string
	poll(ctx, 2*time.Second, func() bool {
		lines = grepFrom(n8nLog, logStart, tag)
		return len(lines) >= len(samplePeople)
	})
	for _, l := range lines {
		d.say("    %s", l)
	}
	if len(lines) == 0 {
		d.say("    (none found in %s)", n8nLog)
	}

	const runs = 20
	var times []time.Duration
	for range runs {
		t := time.Now()
		status, body, err := client.Webhook(ctx, st.WebhookPath, sampleBody)
		if err != nil {
			return fmt.Errorf("a timed run failed: %w", err)
		}
		if status != http.StatusOK {
			return fmt.Errorf("a timed run failed: the webhook answered %d: %s", status, body)
		}
		times = append(times, time.Since(t))
	}
	slices.Sort(times)
	d.say("==> timings (webhook round trip through n8n and runwire)")
	d.say("    first run %.1f ms; next %d runs: median %.1f ms, p90 %.1f ms", ms(first), runs, ms(times[runs/2]), ms(times[runs*9/10]))
	if exec, err := client.LatestExecution(ctx, st.WorkflowID); err == nil {
		if run := exec.LastRun(n8n.CodeNodeName); run != nil {
			d.say("    of the last run, n8n's Code node took %.1f ms (handing the task to runwire and back)", ms(run.ExecutionTime))
		}
	}
	if done := grepFrom(runwireLog, 0, "Task done task_id="); len(done) > 0 {
		d.say("    runwire's own log of it: %s", strings.TrimSpace(done[len(done)-1]))
	}

	d.say("")
	d.say("n8n and runwire are running. Open the editor and write your own Python Code nodes:")
	d.say("    editor:   http://127.0.0.1:%d/workflow/%s", st.Port, st.WorkflowID)
	d.say("    login:    %s / %s", st.Email, st.Password)
	d.say("    logs:     %s, %s", n8nLog, runwireLog)
	d.say("    stop:     make demo-down")
	return nil
}

func (d *demo) down(ctx context.Context) error {
	st, err := loadState(d.statePath())
	if err != nil {
		return err
	}
	if stopGroup(ctx, st.RunwirePID, "runwire", 15*time.Second) {
		d.say("runwire stopped (pid %d)", st.RunwirePID)
	}
	if stopGroup(ctx, st.N8nPID, "n8n", 30*time.Second) {
		d.say("n8n stopped (pid %d)", st.N8nPID)
	}
	st.RunwirePID, st.N8nPID = 0, 0
	if _, err := os.Stat(d.statePath()); err != nil {
		d.say("nothing was running")
		return nil
	}
	return st.save(d.statePath())
}

// startRunwire starts runwire in its own process group, outliving this command, and waits
// until its health check says it is registered with the broker.
func startRunwire(ctx context.Context, bin, broker, authToken, logPath string) (pid, healthPort int, err error) {
	healthPort, err = n8n.FreePort()
	if err != nil {
		return 0, 0, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600) //nolint:gosec // G304: the demo's own log
	if err != nil {
		return 0, 0, err
	}
	defer logf.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(withoutRunnerVars(os.Environ()),
		"N8N_RUNNERS_AUTH_TOKEN="+authToken,
		"N8N_RUNNERS_TASK_BROKER_URI="+broker,
		"N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED=true",
		"N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT="+strconv.Itoa(healthPort),
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("starting runwire: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(30 * time.Second)
	for !healthy(healthPort) {
		select {
		case err := <-exited:
			return 0, 0, fmt.Errorf("runwire exited (%w); see %s", err, logPath)
		case <-timeout:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			return 0, 0, fmt.Errorf("runwire did not register within 30 s; see %s", logPath)
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			return 0, 0, ctx.Err()
		case <-tick.C:
		}
	}
	return cmd.Process.Pid, healthPort, nil
}

// withoutRunnerVars drops N8N_RUNNERS_* from env, so that the caller's shell cannot point the
// demo's runwire at another broker.
func withoutRunnerVars(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "N8N_RUNNERS_") })
}

// healthy reports whether runwire's health check answers /readyz with 200 (registered).
func healthy(port int) bool {
	if port == 0 {
		return false
	}
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/readyz")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// preferPort returns port if it is free on loopback, else any free port.
func preferPort(port int) int {
	if l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
		_ = l.Close()
		return port
	}
	p, err := n8n.FreePort()
	if err != nil {
		return port
	}
	return p
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// grepFrom returns the lines of the file after offset that contain substr.
func grepFrom(path string, offset int64, substr string) []string {
	data, err := os.ReadFile(path) //nolint:gosec // G304: n8n's log, in the demo's folder
	if err != nil || int64(len(data)) < offset {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(data[offset:]), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
