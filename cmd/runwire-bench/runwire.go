package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// runwireProc is one bin/runwire child process.
type runwireProc struct {
	cmd     *exec.Cmd
	pid     int
	started time.Time // just before the fork
	logs    *logWatch
	logPipe *os.File // our read end of its stdout and stderr

	exited  chan struct{}
	waitErr error
	readers sync.WaitGroup

	stopOnce sync.Once
	stopRep  stopReport
}

// stopReport is how a runwire process ended.
type stopReport struct {
	took      time.Duration // SIGTERM → exit
	killed    bool          // it did not exit within the grace period: SIGKILL
	exitErr   error         // non-nil when it did not exit with status 0
	leftovers []procInfo    // descendants still alive after it exited (then killed)
}

// runwireEnv is the environment the bench gives runwire: the bench's own, without any n8n
// or runwire setting that would change what is measured, plus the broker settings.
func runwireEnv(base []string, brokerURI, authToken string, concurrency int) []string {
	env := make([]string, 0, len(base)+6)
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "N8N_"), k == "RUNWIRE_CONFIG", k == "RUNWIRE_LOG_FORMAT", k == "NO_COLOR":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"N8N_RUNNERS_TASK_BROKER_URI="+brokerURI,
		"N8N_RUNNERS_AUTH_TOKEN="+authToken,
		fmt.Sprintf("N8N_RUNNERS_MAX_CONCURRENCY=%d", concurrency),
		"N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT=0",
		"RUNWIRE_LOG_FORMAT=json",
	)
}

// startRunwire starts path in its own process group (so a Ctrl-C in the terminal reaches the
// bench only, which then stops runwire itself) and reads its output until it ends.
// Every output line is also written to logCopy unless it is nil.
func startRunwire(path string, env []string, logCopy io.Writer) (*runwireProc, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path) //nolint:gosec // the runwire binary under test, from --runwire
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true,
		// A safety net should the bench die without stopping it.
		Pdeathsig: syscall.SIGTERM,
	}
	p := &runwireProc{cmd: cmd, logs: newLogWatch(logCopy), logPipe: r, exited: make(chan struct{})}
	p.started = time.Now()
	err = cmd.Start()
	_ = w.Close()
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	p.pid = cmd.Process.Pid
	p.readers.Add(1)
	go func() {
		defer p.readers.Done()
		p.logs.read(r)
	}()
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop sends SIGTERM, waits up to grace for the exit, then SIGKILLs the process group. Any
// descendant still alive a moment after runwire's exit is reported and killed. Safe to call
// more than once.
func (p *runwireProc) stop(grace time.Duration) stopReport {
	p.stopOnce.Do(func() { p.stopRep = p.doStop(grace) })
	return p.stopRep
}

func (p *runwireProc) doStop(grace time.Duration) stopReport {
	var rep stopReport
	tree := processTree(p.pid)
	start := time.Now()
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(grace):
			rep.killed = true
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	rep.took = time.Since(start)
	rep.exitErr = p.waitErr
	if len(tree) > 1 {
		deadline := time.Now().Add(2 * time.Second)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for _, d := range tree[1:] {
			for alive(d) && time.Now().Before(deadline) {
				<-tick.C // polling /proc: the processes are not ours to wait for
			}
			if alive(d) {
				rep.leftovers = append(rep.leftovers, d)
				kill(d)
			}
		}
	}
	// Output still held open by a leftover ends with it; don't wait for it forever.
	done := make(chan struct{})
	go func() { p.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		_ = p.logPipe.Close()
		<-done
	}
	return rep
}

// logWatch reads runwire's JSON log lines and keeps what the report needs.
type logWatch struct {
	mu       sync.Mutex
	tail     []string          // the last lines, for a failure report
	problems []string          // WARN and ERROR lines
	fields   map[string]string // selected fields of selected lines
	copyTo   io.Writer
}

func newLogWatch(copyTo io.Writer) *logWatch {
	return &logWatch{fields: map[string]string{}, copyTo: copyTo}
}

const tailLines = 40

func (l *logWatch) read(r io.Reader) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 4<<20)
	for s.Scan() {
		l.line(s.Text())
	}
}

func (l *logWatch) line(text string) {
	var rec map[string]any
	parsed := json.Unmarshal([]byte(text), &rec) == nil
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.copyTo != nil {
		_, _ = io.WriteString(l.copyTo, text+"\n")
	}
	l.tail = append(l.tail, text)
	if len(l.tail) > tailLines {
		l.tail = l.tail[1:]
	}
	if !parsed {
		return
	}
	level, _ := rec["level"].(string)
	msg, _ := rec["msg"].(string)
	if level == "WARN" || level == "ERROR" || level == "CRITICAL" {
		if len(l.problems) < 20 {
			l.problems = append(l.problems, level+" "+msg+attrs(rec))
		}
	}
	switch msg {
	case "Starting runwire":
		l.fields["version"] = str(rec["version"])
	case "Python executor ready":
		l.fields["python_boot"] = str(rec["boot"])
		l.fields["python"] = str(rec["python"])
		l.fields["python_version"] = str(rec["version"])
	case "Python modules preloaded in the zygote":
		l.fields["preloaded"] = fmt.Sprintf("%s, zygote RSS %s B once ready (%s B more than before the preloads)", str(rec["modules"]), str(rec["zygote_rss_bytes"]), str(rec["added_bytes"]))
	default:
		if strings.HasPrefix(msg, "Python task isolation in force") {
			l.fields["isolation"] = msg
		}
	}
}

func (l *logWatch) field(k string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fields[k]
}

func (l *logWatch) warnings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.problems...)
}

func (l *logWatch) lastLines() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.tail, "\n")
}

// attrs renders a log record's attributes other than time, level and msg.
func attrs(rec map[string]any) string {
	var b strings.Builder
	for k, v := range rec {
		if k == "time" || k == "level" || k == "msg" {
			continue
		}
		fmt.Fprintf(&b, " %s=%s", k, str(v))
	}
	return b.String()
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// python is the interpreter runwire logged as ready, with its version.
func (p *runwireProc) python() string {
	v := p.logs.field("python_version")
	if v == "" {
		return ""
	}
	return fmt.Sprintf("Python %s (%s)", v, p.logs.field("python"))
}
