package queue

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/runwire/runwire/e2e/n8n"
	"github.com/runwire/runwire/metrics"
)

// Runwire is one runwire beside one worker, in auth-token mode, with its health server on a
// port of its own. It can be killed and started again with the same settings, as an
// orchestrator restarts a crashed sidecar.
type Runwire struct {
	bin        string
	env        []string
	logPath    string
	healthPort int
	proc       *process
}

// healthClient bounds each readiness probe.
var healthClient = &http.Client{Timeout: time.Second}

// newRunwire prepares a runwire for brokerURL; start starts it.
func newRunwire(bin, brokerURL, authToken, logPath string, extraEnv []string) (*Runwire, error) {
	port, err := n8n.FreePort()
	if err != nil {
		return nil, err
	}
	env := append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"N8N_RUNNERS_AUTH_TOKEN=" + authToken,
		"N8N_RUNNERS_TASK_BROKER_URI=" + brokerURL,
		"N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED=true",
		"N8N_RUNNERS_HEALTH_CHECK_SERVER_HOST=127.0.0.1",
		"N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=" + strconv.Itoa(port),
	}, extraEnv...)
	return &Runwire{bin: bin, env: env, logPath: logPath, healthPort: port}, nil
}

// start starts runwire and waits until the broker has it registered.
func (r *Runwire) start(ctx context.Context) error {
	cmd := exec.Command(r.bin) //nolint:gosec // G204: the runwire binary the caller built
	cmd.Env = r.env
	// Not the caller's working directory, which may go away under it (pyenv's shims, which
	// runwire runs to find the interpreter, fail in a deleted one).
	cmd.Dir = filepath.Dir(r.logPath)
	var err error
	if r.proc, err = startProcess("runwire", r.logPath, cmd); err != nil {
		return err
	}
	return r.waitReady(ctx)
}

// waitReady polls /readyz every 20 ms until runwire is registered.
func (r *Runwire) waitReady(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !r.Ready() {
		select {
		case <-r.proc.Exited():
			return r.proc.exitError("before it registered")
		case <-ctx.Done():
			return fmt.Errorf("runwire did not register (%w); the end of %s:\n%s", ctx.Err(), r.logPath, logTail(r.logPath, 30))
		case <-tick.C:
		}
	}
	return nil
}

// Ready reports whether runwire is registered with its broker (its /readyz).
func (r *Runwire) Ready() bool {
	resp, err := healthClient.Get("http://127.0.0.1:" + strconv.Itoa(r.healthPort) + "/readyz")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// PID is runwire's process id (also its process group's).
func (r *Runwire) PID() int { return r.proc.PID() }

// Kill sends SIGKILL to runwire's process group, as a crash or an OOM kill would.
func (r *Runwire) Kill() { r.proc.kill() }

// Restart starts a killed or stopped runwire again with the same settings and waits until it is
// registered.
func (r *Runwire) Restart(ctx context.Context) error {
	if r.proc.running() {
		return fmt.Errorf("runwire (pid %d) is still running", r.PID())
	}
	return r.start(ctx)
}

// Exited is closed once the current runwire process has ended.
func (r *Runwire) Exited() <-chan struct{} { return r.proc.Exited() }

// stop sends SIGTERM (runwire finishes its tasks and exits) and kills it after a timeout.
func (r *Runwire) stop() error {
	if r.proc == nil {
		return nil
	}
	return r.proc.stop(syscall.SIGTERM, 20*time.Second)
}

// ExitCode is the last process's exit code, -1 while it runs or if it was killed.
func (r *Runwire) ExitCode() int {
	if r.proc.running() {
		return -1
	}
	return r.proc.cmd.ProcessState.ExitCode()
}

// Tasks counts the tasks runwire has completed (its "Task done" lines), over every process
// that used its log.
func (r *Runwire) Tasks() int {
	data, _ := os.ReadFile(r.logPath)
	return strings.Count(string(data), "Task done task_id=")
}

// Log returns the last n lines of runwire's log.
func (r *Runwire) Log(n int) string { return logTail(r.logPath, n) }

// jsRunner is n8n's own JavaScript task runner (@n8n/task-runner), started as n8n's launcher
// starts it: a grant token fetched with the auth token, node with the launcher's flags.
func startJSRunner(installDir, brokerURL, grant, logPath string, extraEnv []string) (*process, error) {
	//nolint:gosec // G204: the install folder is ours, from n8n.Install
	cmd := exec.Command(n8n.NodeBinary(installDir), "--disallow-code-generation-from-strings", "--disable-proto=delete",
		filepath.Join(installDir, "node_modules", "@n8n", "task-runner", "dist", "start.js"))
	cmd.Env = append([]string{
		"PATH=" + filepath.Dir(n8n.NodeBinary(installDir)) + ":/usr/bin:/bin",
		"HOME=" + os.Getenv("HOME"),
		"N8N_RUNNERS_GRANT_TOKEN=" + grant,
		"N8N_RUNNERS_TASK_BROKER_URI=" + brokerURL,
		// On SIGTERM it keeps serving through this grace period (30 s by default) unless its
		// broker drains it.
		"N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT=2",
	}, extraEnv...)
	return startProcess("n8n JS task runner", logPath, cmd)
}

// InFlight is how many tasks the running runwire has accepted and not yet ended: its
// runwire_tasks_running on /metrics; 0 when it does not answer (not running, or killed).
func (r *Runwire) InFlight() int {
	n, _ := metrics.Read(healthClient, "http://127.0.0.1:"+strconv.Itoa(r.healthPort)+"/metrics", "runwire_tasks_running")
	return int(n)
}
