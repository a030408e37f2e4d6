package python_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/config"
	"github.com/runwire/runwire/fsm"
	"github.com/runwire/runwire/python"
	"github.com/runwire/runwire/specs/support"
	"github.com/runwire/runwire/tasks"
	"github.com/runwire/runwire/transport"
)

const (
	authToken   = "spec-auth-token-5f1a"
	specTimeout = 15 * time.Second
	// slowTimeout is for specs that wait out a limit (task timeout, CPU time, SIGTERM grace).
	slowTimeout = 25 * time.Second

	// quiet is how long a spec watches for something that must not happen.
	quiet = 200 * time.Millisecond
	// reaped bounds the wait for a killed process to disappear. An orphan (a grandchild whose
	// parent died first) is reaped by its PID namespace's init, the zygote, at once; without
	// that wall by the machine's PID 1, which here does it every couple of seconds.
	reaped = 5 * time.Second
)

// Message types the runner sends.
const (
	typeOffer    = "runner:taskoffer"
	typeAccepted = "runner:taskaccepted"
	typeDone     = "runner:taskdone"
	typeError    = "runner:taskerror"
	typeRPC      = "runner:rpc"
)

// rig is runwire as `runwire run` wires it (cli/run.go, cli/executors.go), over loopback:
// config.Load of an environment, the real python executor registered as "python", a
// tasks.Manager, a transport.Dialer and an fsm.Machine running in its own goroutine, against
// support.Broker listening through a wireTap.
type rig struct {
	ctx context.Context
	b   *support.Broker
	tap *wireTap
	py  *python.Executor
}

// rigSetup is what a spec changes before the rig starts.
type rigSetup struct {
	env         []string // added to runwire's environment, KEY=value
	taskTimeout time.Duration
	log         io.Writer      // also gets runwire's log
	idleRelease time.Duration  // python.Options.IdleRelease; 0 leaves the default
	brokerLimit int64          // the broker's largest accepted message; 0 leaves support's 1 MiB
	restart     python.Restart // python.Options.Restart; zero leaves the defaults
	options     func(*python.Options)
	forkFault   func() string // python.Options.ForkFaultForSpecs
}

type setup func(*rigSetup)

// withEnv adds variables to runwire's environment: the sandbox settings
// (N8N_RUNNERS_STDLIB_ALLOW, RUNWIRE_PYTHON_MEMORY_BYTES…) and anything user code may see.
func withEnv(kv ...string) setup { return func(s *rigSetup) { s.env = append(s.env, kv...) } }

// stdlib sets N8N_RUNNERS_STDLIB_ALLOW.
func stdlib(list string) setup { return withEnv("N8N_RUNNERS_STDLIB_ALLOW=" + list) }

// withTaskTimeout sets the task timeout in spec time (config has whole seconds only).
func withTaskTimeout(d time.Duration) setup { return func(s *rigSetup) { s.taskTimeout = d } }

// withIdleRelease sets how long the executor waits, idle, before it returns free memory to
// the operating system (runwire's default is 1 s).
func withIdleRelease(d time.Duration) setup { return func(s *rigSetup) { s.idleRelease = d } }

// withPayloadLimit sets N8N_RUNNERS_MAX_PAYLOAD, and makes the broker accept no more, as n8n's
// does (it closes the connection with 1009 past it).
func withPayloadLimit(n int64) setup {
	return func(s *rigSetup) {
		s.env = append(s.env, fmt.Sprintf("N8N_RUNNERS_MAX_PAYLOAD=%d", n))
		s.brokerLimit = n
	}
}

// withRestart sets the supervisor's restart policy, in spec time.
func withRestart(r python.Restart) setup { return func(s *rigSetup) { s.restart = r } }

// withOptions changes the executor's options after OptionsFrom (spec hooks such as
// BreakLandlockForSpecs).
func withOptions(f func(*python.Options)) setup { return func(s *rigSetup) { s.options = f } }

// withForkFaults injects failures into the zygote's forks (python.Options.ForkFaultForSpecs).
func withForkFaults(f func() string) setup { return func(s *rigSetup) { s.forkFault = f } }

// withLog sends a copy of runwire's log to w.
func withLog(w io.Writer) setup { return func(s *rigSetup) { s.log = w } }

// hostEnviron is this process's environment without anything runwire or n8n reads, so that
// the machine's own settings cannot change a spec.
func hostEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "N8N_") && !strings.HasPrefix(kv, "RUNWIRE_") {
			env = append(env, kv)
		}
	}
	return env
}

// newRig starts runwire with the spec's settings. Spec timings: an offer pass every 20 ms,
// a quick reconnect; the rest is config's defaults unless the spec sets it. Clean-up: stop
// the machine, wait for Run, wait for the Manager's goroutines, close the executor, close
// the broker.
func newRig(ctx context.Context, setups ...setup) *rig {
	GinkgoHelper()
	var s rigSetup
	for _, f := range setups {
		f(&s)
	}

	tap, err := newWireTap()
	Expect(err).NotTo(HaveOccurred())
	b := support.NewBroker(authToken, tap)
	DeferCleanup(b.Close)
	if s.brokerLimit > 0 {
		b.SetReadLimit(s.brokerLimit)
	}

	environ := append(hostEnviron(),
		"N8N_RUNNERS_AUTH_TOKEN="+authToken,
		"N8N_RUNNERS_TASK_BROKER_URI="+b.URL(),
		"RUNWIRE_PYTHON="+interpreterPath(),
	)
	// RUNWIRE_SPECS_WALLS is the walls policy of the environment the suite runs in (the
	// container specs run the walls specs with best-effort where namespaces are refused, to
	// show what holds there); a spec's own settings still win.
	if w := os.Getenv("RUNWIRE_SPECS_WALLS"); w != "" {
		environ = append(environ, "RUNWIRE_PYTHON_WALLS="+w)
	}
	environ = append(environ, s.env...)
	cfg, err := config.Load(nil, environ)
	Expect(err).NotTo(HaveOccurred(), "runwire's configuration")
	if s.taskTimeout == 0 {
		s.taskTimeout = cfg.TaskTimeout
	}

	var sink io.Writer = GinkgoWriter
	if s.log != nil {
		sink = io.MultiWriter(GinkgoWriter, s.log)
	}
	logger := slog.New(slog.NewTextHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := &rig{ctx: ctx, b: b, tap: tap}

	// As cli/executors.go does.
	opts := python.OptionsFrom(cfg, environ, logger)
	if s.idleRelease != 0 {
		opts.IdleRelease = s.idleRelease
	}
	opts.Restart = s.restart
	if s.options != nil {
		s.options(&opts)
	}
	opts.ForkFaultForSpecs = s.forkFault
	r.py = python.Start(opts)
	DeferCleanup(r.py.Close)

	// As cli/run.go does, with spec timings.
	mgr, err := tasks.New(tasks.Options{
		Executors:       map[string]tasks.Executor{python.TaskType: r.py},
		MaxConcurrency:  cfg.MaxConcurrency,
		TaskTimeout:     s.taskTimeout,
		SettingsTimeout: cfg.SettingsTimeout,
		OfferInterval:   20 * time.Millisecond,
		Logger:          logger,
	})
	Expect(err).NotTo(HaveOccurred())
	d := &transport.Dialer{
		BrokerURI:        cfg.BrokerURI,
		RunnerID:         transport.NewID(),
		AuthToken:        cfg.AuthToken.Reveal(),
		MaxPayload:       cfg.MaxPayload,
		PingInterval:     cfg.PingInterval,
		HandshakeTimeout: 2 * time.Second,
		Logger:           logger,
	}
	m, err := fsm.New(fsm.Options{
		Dialer:    fsm.TransportDialer(d),
		Backoff:   fsm.Exponential{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond, Multiplier: 2},
		Logger:    logger,
		Handler:   mgr,
		TaskTypes: mgr.TaskTypes(),
	})
	Expect(err).NotTo(HaveOccurred())

	support.RunMachine(ctx, m, mgr, nil)
	return r
}

// connection waits for the broker to register the runner.
func (r *rig) connection() *peer {
	GinkgoHelper()
	var c *support.BrokerConn
	Eventually(r.ctx, r.b.Registered()).Should(Receive(&c), "the runner registers")
	return &peer{Inbox: support.NewInbox(r.ctx, c), r: r, c: c}
}

// peer is the broker's side of the connection: what the runner sent (support.Inbox) and the
// moves n8n's broker makes.
type peer struct {
	*support.Inbox
	r *rig
	c *support.BrokerConn
}

var (
	isType     = support.IsType
	isTerminal = support.IsTerminal
)

func isPrint(taskID string) func(map[string]any) bool {
	return func(m map[string]any) bool {
		return m["type"] == typeRPC && m["taskId"] == taskID && m["name"] == "logNodeOutput"
	}
}

// accept waits for an unused offer and accepts taskID on it, as n8n does.
func (p *peer) accept(taskID string) {
	GinkgoHelper()
	offer, _ := p.Await("a runner:taskoffer", isType(typeOffer))["offerId"].(string)
	p.Send(map[string]any{"type": "broker:taskofferaccept", "taskId": taskID, "offerId": offer})
	Expect(p.Await("the answer to the accept of "+taskID, func(m map[string]any) bool {
		return m["taskId"] == taskID && (m["type"] == typeAccepted || m["type"] == "runner:taskrejected")
	})).To(Equal(map[string]any{"type": typeAccepted, "taskId": taskID}))
}

// start accepts taskID and sends its settings.
func (p *peer) start(taskID string, settings map[string]any) {
	GinkgoHelper()
	p.accept(taskID)
	p.Send(map[string]any{"type": "broker:tasksettings", "taskId": taskID, "settings": settings})
}

func (p *peer) cancel(taskID string) {
	GinkgoHelper()
	p.Send(map[string]any{"type": "broker:taskcancel", "taskId": taskID, "reason": "Task cancelled by user"})
}

// terminal waits for the runner:taskdone or runner:taskerror of taskID.
func (p *peer) terminal(taskID string) map[string]any {
	GinkgoHelper()
	return p.Await("the outcome of "+taskID, isTerminal(taskID))
}

// terminalWithin is terminal for an outcome that must come within d.
func (p *peer) terminalWithin(taskID string, d time.Duration) map[string]any {
	GinkgoHelper()
	return p.AwaitWithin(d, "the outcome of "+taskID+" within "+d.String(), isTerminal(taskID))
}

// outcome is one task's traffic as the broker saw it.
type outcome struct {
	terminal map[string]any
	prints   [][]any // logNodeOutput params, in order
	late     int     // logNodeOutput calls after the terminal message
}

// run runs one task as n8n does and returns what came back for it.
func (p *peer) run(taskID string, settings map[string]any) outcome {
	GinkgoHelper()
	p.start(taskID, settings)
	return p.result(taskID)
}

// result waits for taskID's outcome and collects its console output.
func (p *peer) result(taskID string) outcome {
	GinkgoHelper()
	o := outcome{terminal: p.terminal(taskID), late: p.printsAfter(taskID)}
	seen := p.All()
	end := slices.IndexFunc(seen, isTerminal(taskID))
	for _, m := range seen[:end] {
		if !isPrint(taskID)(m) {
			continue
		}
		params, ok := m["params"].([]any)
		Expect(ok).To(BeTrue(), "logNodeOutput params are a list: %v", m)
		o.prints = append(o.prints, params)
	}
	return o
}

// printsAfter counts taskID's logNodeOutput calls received after its outcome.
func (p *peer) printsAfter(taskID string) int {
	seen := p.All()
	end := slices.IndexFunc(seen, isTerminal(taskID))
	n := 0
	for i, m := range seen {
		if end >= 0 && i > end && isPrint(taskID)(m) {
			n++
		}
	}
	return n
}

// runCode runs code in all-items mode over one item.
func (p *peer) runCode(taskID, code string) outcome {
	GinkgoHelper()
	return p.run(taskID, allItems(code, item(`{"n": 1}`)))
}

// healthy checks that the runner still runs an ordinary task.
func (p *peer) healthy(taskID string) {
	GinkgoHelper()
	Expect(p.runCode(taskID, `return [{"json": {"ok": True}}]`).terminal).
		To(Equal(done(taskID, `[{"json":{"ok":true}}]`)), "the runner still runs a normal task")
}

// Settings, as n8n 2.41's Code node sends them (protocol doc §9).

func settings(mode, code string, items []any) map[string]any {
	if items == nil {
		items = []any{}
	}
	return map[string]any{
		"code":           code,
		"nodeMode":       mode,
		"workflowMode":   "manual",
		"continueOnFail": false,
		"items":          items,
		"nodeId":         "e5f8c0de-0000-4000-8000-000000000001",
		"nodeName":       "Code",
		"workflowId":     "VZpmSpec",
		"workflowName":   "specs (python)",
	}
}

func allItems(code string, items ...any) map[string]any {
	return settings("runOnceForAllItems", code, items)
}

func perItem(code string, items ...any) map[string]any {
	return settings("runOnceForEachItem", code, items)
}

// with returns s with key set (or, for a nil value, removed).
func with(s map[string]any, key string, value any) map[string]any {
	out := make(map[string]any, len(s)+1)
	for k, v := range s {
		out[k] = v
	}
	if value == nil {
		delete(out, key)
	} else {
		out[key] = value
	}
	return out
}

func continueOnFail(s map[string]any) map[string]any { return with(s, "continueOnFail", true) }

// item is an n8n item whose json is the given JSON text.
func item(jsonText string) any { return map[string]any{"json": decode(jsonText)} }

// Expected messages, as the broker decodes them.

func done(taskID, result string) map[string]any {
	return map[string]any{"type": typeDone, "taskId": taskID, "data": map[string]any{"result": decode(result)}}
}

// doneWithError is continue-on-fail: the error as the task's only item.
func doneWithError(taskID, message string) map[string]any {
	return map[string]any{"type": typeDone, "taskId": taskID, "data": map[string]any{
		"result": []any{map[string]any{"json": map[string]any{"error": message}}},
	}}
}

// failed is runner:taskerror; description is included only when given.
func failed(taskID, message string, description ...string) map[string]any {
	e := map[string]any{"message": message}
	if len(description) > 0 {
		e["description"] = description[0]
	}
	return map[string]any{"type": typeError, "taskId": taskID, "error": e}
}

// violations is the taskerror for a failed static analysis: one "Line N: …" per finding.
func violations(taskID string, lines ...string) map[string]any {
	return failed(taskID, "Security violations detected", strings.Join(lines, "\n"))
}

// errorOf returns a taskerror's message and description (ok is false if it has none).
func errorOf(m map[string]any) (message string, description string, ok bool) {
	GinkgoHelper()
	Expect(m).To(HaveKeyWithValue("type", typeError), "a runner:taskerror")
	e, _ := m["error"].(map[string]any)
	message, _ = e["message"].(string)
	description, ok = e["description"].(string)
	return message, description, ok
}

// resultOf returns a taskdone's data.result.
func resultOf(m map[string]any) any {
	GinkgoHelper()
	Expect(m).To(HaveKeyWithValue("type", typeDone), "a runner:taskdone")
	data, _ := m["data"].(map[string]any)
	return data["result"]
}

func decode(text string) any {
	var v any
	Expect(json.Unmarshal([]byte(text), &v)).To(Succeed(), "spec JSON: %s", text)
	return v
}

// Analyser texts (python/runtime/rules.py, n8n's words).

func blockedAttribute(line int, attr string) string {
	return fmt.Sprintf("Line %d: Access to attribute '%s' is disallowed, because it can be used to bypass security restrictions.", line, attr)
}

func blockedName(line int, name string) string {
	return fmt.Sprintf("Line %d: Access to name '%s' is disallowed, because it can be used to bypass security restrictions.", line, name)
}

func stdlibDenied(module, allowed string) string {
	return fmt.Sprintf("Import of standard library module '%s' is disallowed. Allowed stdlib modules: %s", module, allowed)
}

func externalDenied(module, allowed string) string {
	return fmt.Sprintf("Import of external package '%s' is disallowed. Allowed external packages: %s", module, allowed)
}

// Processes.

// whoami is the Python that prints the calling process's pid and its PID namespace, for
// hostPIDs: print(<pid>, ..., whoami).
const whoami = `os.readlink("/proc/self/ns/pid")`

// hostPIDs reads a print entry [pid, ..., 'pid:[inode]'], made of pids as the task sees them
// (in its own PID namespace when that wall is in force) and the namespace they are in, and
// returns those processes' pids on the host: the ones whose NSpid ends with that pid and
// whose PID namespace is that one.
func hostPIDs(entry []any) []int {
	GinkgoHelper()
	Expect(len(entry)).To(BeNumerically(">=", 2), "pids and a namespace: %v", entry)
	ns, _ := entry[len(entry)-1].(string)
	ns = strings.Trim(ns, "'")
	Expect(ns).To(HavePrefix("pid:["), "the PID namespace in %v", entry)
	var out []int
	for _, a := range entry[:len(entry)-1] {
		s, _ := a.(string)
		inner, err := strconv.Atoi(s)
		Expect(err).NotTo(HaveOccurred(), "a pid in %v", entry)
		host := findHostPID(ns, inner)
		Expect(host).To(BeNumerically(">", 1), "process %d of %s is on the host", inner, ns)
		out = append(out, host)
	}
	return out
}

func findHostPID(ns string, inner int) int {
	// A task in the spec's own PID namespace (none of its own, as under a Docker-like seccomp
	// profile) has the same number here, and its /proc/<pid>/ns may be unreadable to a spec
	// that is not root (the task is not dumpable).
	if self, err := os.Readlink("/proc/self/ns/pid"); err == nil && self == ns {
		return inner
	}
	dirs, err := os.ReadDir("/proc")
	Expect(err).NotTo(HaveOccurred())
	want := strconv.Itoa(inner)
	for _, d := range dirs {
		host, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if link, err := os.Readlink("/proc/" + d.Name() + "/ns/pid"); err != nil || link != ns {
			continue
		}
		status, err := os.ReadFile("/proc/" + d.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if fields := strings.Fields(line); len(fields) > 1 && fields[0] == "NSpid:" && fields[len(fields)-1] == want {
				return host
			}
		}
	}
	return 0
}

// alive is syscall.Kill(pid, 0): nil while the process exists, ESRCH once it is gone.
func alive(pid int) func() error {
	return func() error { return syscall.Kill(pid, 0) }
}

// expectGone waits until every pid (on the host) has disappeared.
func expectGone(ctx context.Context, ps ...int) {
	GinkgoHelper()
	for _, pid := range ps {
		Eventually(ctx, alive(pid)).WithTimeout(reaped).WithPolling(20*time.Millisecond).
			Should(MatchError(syscall.ESRCH), "process %d is gone", pid)
	}
}

// killLeftovers makes sure a failing spec leaves no task process spinning for the rest of
// the run: every pid that is still one of the Python task processes gets SIGKILL.
func killLeftovers(ps ...int) {
	for _, pid := range ps {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && strings.Contains(string(cmdline), "zygote.py") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// gate lets a spec hold task code at a point until it opens the gate: the code polls for a
// file the spec creates (tasks may read anywhere; they may not write outside their temp dir).
type gate struct {
	path string
	item any    // the task's input item: {"json": {"gate": path}}
	wait string // Python: wait (at most 10 s) for the gate; needs os and time imported
}

func newGate() gate {
	GinkgoHelper()
	// A directory of its own that the task's uid may pass through (as root, tasks run as
	// python.TaskUID; a test's temp dir is 0700).
	dir, err := os.MkdirTemp("", "runwire-spec-gate-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, dir)
	Expect(os.Chmod(dir, 0o755)).To(Succeed())
	path := filepath.Join(dir, "open")
	return gate{
		path: path,
		item: map[string]any{"json": map[string]any{"gate": path}},
		wait: "deadline = time.monotonic() + 10\n" +
			"while not os.path.exists(_items[0][\"json\"][\"gate\"]):\n" +
			"    if time.monotonic() > deadline:\n" +
			"        raise RuntimeError(\"the spec never opened the gate\")\n" +
			"    time.sleep(0.005)",
	}
}

// open lets every task waiting at the gate go on.
func (g gate) open() {
	GinkgoHelper()
	Expect(os.WriteFile(g.path, nil, 0o600)).To(Succeed())
}
