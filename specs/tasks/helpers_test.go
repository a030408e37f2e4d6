package tasks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/fsm"
	"github.com/runwire/runwire/specs/support"
	"github.com/runwire/runwire/tasks"
	"github.com/runwire/runwire/transport"
)

const (
	authToken   = "spec-auth-token-8e2c"
	taskType    = "python"
	specTimeout = 10 * time.Second

	// quiet is how long a spec watches for something that must not happen.
	quiet = 300 * time.Millisecond
)

// Message types the runner sends.
const (
	typeOffer    = "runner:taskoffer"
	typeAccepted = "runner:taskaccepted"
	typeRejected = "runner:taskrejected"
	typeDone     = "runner:taskdone"
	typeError    = "runner:taskerror"
	typeRPC      = "runner:rpc"
)

// rig is the real stack over loopback: a broker, a transport dialer, a tasks.Manager with a
// fake executor registered as "python", and an fsm.Machine running in its own goroutine.
type rig struct {
	ctx   context.Context
	b     *support.Broker
	fake  *support.FakeExecutor
	mgr   *tasks.Manager
	m     *fsm.Machine
	max   int
	idled chan time.Time // one entry per OnIdle call
}

// setup adjusts the rig's options before it starts.
type setup func(t *tasks.Options, f *fsm.Options, d *transport.Dialer)

func withMax(n int) setup {
	return func(t *tasks.Options, _ *fsm.Options, _ *transport.Dialer) { t.MaxConcurrency = n }
}

func withOfferInterval(d time.Duration) setup {
	return func(t *tasks.Options, _ *fsm.Options, _ *transport.Dialer) { t.OfferInterval = d }
}

func withOfferValidity(validity, jitter time.Duration) setup {
	return func(t *tasks.Options, _ *fsm.Options, _ *transport.Dialer) {
		t.OfferValidity, t.OfferJitter = validity, jitter
	}
}

func withSettingsTimeout(d time.Duration) setup {
	return func(t *tasks.Options, _ *fsm.Options, _ *transport.Dialer) { t.SettingsTimeout = d }
}

func withTaskTimeout(d time.Duration) setup {
	return func(t *tasks.Options, _ *fsm.Options, _ *transport.Dialer) { t.TaskTimeout = d }
}

func withExecutor(typ string, e tasks.Executor) setup {
	return func(t *tasks.Options, _ *fsm.Options, _ *transport.Dialer) { t.Executors[typ] = e }
}

// withMaxPayload sets the connection's read limit (N8N_RUNNERS_MAX_PAYLOAD); the rig's is 1 MiB.
func withMaxPayload(n int64) setup {
	return func(_ *tasks.Options, _ *fsm.Options, d *transport.Dialer) { d.MaxPayload = n }
}

func withIdleTimeout(d time.Duration) setup {
	return func(_ *tasks.Options, f *fsm.Options, _ *transport.Dialer) { f.IdleTimeout = d }
}

// newRig starts the stack with spec timings: max 3 and an offer pass every 20 ms. The
// settings and task timeouts default to 30 s, so that neither can stand in for the behaviour
// a spec checks; specs about them set them. Cleanup stops the machine, waits for Run to
// return, then for the Manager's goroutines, then closes the broker.
func newRig(ctx context.Context, setups ...setup) *rig {
	GinkgoHelper()
	b := support.NewBroker(authToken, nil)
	DeferCleanup(b.Close)

	logger := slog.New(slog.NewTextHandler(GinkgoWriter, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := &rig{ctx: ctx, b: b, fake: support.NewFakeExecutor(), idled: make(chan time.Time, 16)}
	topts := tasks.Options{
		Executors:       map[string]tasks.Executor{taskType: r.fake},
		MaxConcurrency:  3,
		TaskTimeout:     30 * time.Second,
		SettingsTimeout: 30 * time.Second,
		OfferInterval:   20 * time.Millisecond,
		Logger:          logger,
	}
	fopts := fsm.Options{
		Backoff: fsm.Exponential{Initial: 10 * time.Millisecond, Max: 40 * time.Millisecond, Multiplier: 2},
		Logger:  logger,
	}
	d := &transport.Dialer{
		BrokerURI:        b.URL(),
		RunnerID:         transport.NewID(),
		AuthToken:        authToken,
		MaxPayload:       1 << 20,
		PingInterval:     time.Second,
		HandshakeTimeout: 2 * time.Second,
		Logger:           logger,
	}
	for _, s := range setups {
		s(&topts, &fopts, d)
	}
	r.max = topts.MaxConcurrency
	if fopts.IdleTimeout > 0 {
		fopts.OnIdle = func() {
			select {
			case r.idled <- time.Now():
			default:
			}
		}
	}

	mgr, err := tasks.New(topts)
	Expect(err).NotTo(HaveOccurred())
	r.mgr = mgr
	fopts.Dialer = fsm.TransportDialer(d)
	fopts.Handler = mgr
	fopts.TaskTypes = mgr.TaskTypes()
	m, err := fsm.New(fopts)
	Expect(err).NotTo(HaveOccurred())
	r.m = m

	support.RunMachine(ctx, m, mgr, r.fake.ReleaseAll) // lingering executions are released
	return r
}

// connection waits for the broker to register the runner on a new connection.
func (r *rig) connection() *peer {
	GinkgoHelper()
	var c *support.BrokerConn
	Eventually(r.ctx, r.b.Registered()).Should(Receive(&c), "the runner registers")
	return &peer{Inbox: support.NewInbox(r.ctx, c), r: r, c: c}
}

// peer is the broker's side of one connection: what the runner sent (support.Inbox) and the
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

func isAnswer(taskID string) func(map[string]any) bool {
	return func(m map[string]any) bool {
		return m["taskId"] == taskID && (m["type"] == typeAccepted || m["type"] == typeRejected)
	}
}

// countFor counts every message received so far about taskID.
func (p *peer) countFor(taskID string) int {
	return p.Count(func(m map[string]any) bool { return m["taskId"] == taskID })
}

// terminals counts runner:taskdone and runner:taskerror for taskID.
func (p *peer) terminals(taskID string) int { return p.Count(isTerminal(taskID)) }

// offerIDs lists the ids of every offer received so far.
func (p *peer) offerIDs() []string {
	var ids []string
	for _, m := range p.All() {
		if m["type"] == typeOffer {
			id, _ := m["offerId"].(string)
			ids = append(ids, id)
		}
	}
	return ids
}

// offer waits for an offer not used yet and returns its id.
func (p *peer) offer() string {
	GinkgoHelper()
	id, _ := p.Await("a runner:taskoffer", isType(typeOffer))["offerId"].(string)
	return id
}

// acceptOffer sends broker:taskofferaccept and returns the runner's answer.
func (p *peer) acceptOffer(taskID, offerID string) map[string]any {
	GinkgoHelper()
	p.Send(map[string]any{"type": "broker:taskofferaccept", "taskId": taskID, "offerId": offerID})
	return p.Await("the answer to the accept of "+taskID, isAnswer(taskID))
}

// accept takes a fresh offer for taskID and returns the runner's answer.
func (p *peer) accept(taskID string) map[string]any {
	GinkgoHelper()
	return p.acceptOffer(taskID, p.offer())
}

// mustAccept takes a fresh offer for taskID and expects it to be accepted.
func (p *peer) mustAccept(taskID string) {
	GinkgoHelper()
	Expect(p.accept(taskID)).To(Equal(accepted(taskID)))
}

// settings sends broker:tasksettings.
func (p *peer) settings(taskID string, settings map[string]any) {
	GinkgoHelper()
	p.Send(map[string]any{"type": "broker:tasksettings", "taskId": taskID, "settings": settings})
}

// start accepts taskID, sends its settings and waits until the executor runs it.
func (p *peer) start(taskID string, settings map[string]any) {
	GinkgoHelper()
	p.mustAccept(taskID)
	p.settings(taskID, settings)
	Eventually(p.r.ctx, func() bool { return p.r.fake.Started(taskID) }).Should(BeTrue(), "the executor runs "+taskID)
}

// cancel sends broker:taskcancel.
func (p *peer) cancel(taskID string) {
	GinkgoHelper()
	p.Send(map[string]any{"type": "broker:taskcancel", "taskId": taskID, "reason": "Task cancelled by user"})
}

// terminal waits for the runner:taskdone or runner:taskerror of taskID.
func (p *peer) terminal(taskID string) map[string]any {
	GinkgoHelper()
	return p.Await("the outcome of "+taskID, isTerminal(taskID))
}

// exactlyOneTerminal waits for taskID's outcome, then checks that no second one follows.
func (p *peer) exactlyOneTerminal(taskID string) map[string]any {
	GinkgoHelper()
	m := p.terminal(taskID)
	Consistently(p.r.ctx, func() int { return p.terminals(taskID) }, quiet).Should(Equal(1), func() string {
		return "exactly one outcome for " + taskID + "; " + p.Dump()
	})
	return m
}

// pySettings is a plausible Code node settings object, with extra fields merged in.
func pySettings(extra ...any) map[string]any {
	s := map[string]any{
		"code":     "return items",
		"nodeMode": "runOnceForAllItems",
		"items":    []any{map[string]any{"json": map[string]any{"n": 1}}},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		s[extra[i].(string)] = extra[i+1]
	}
	return s
}

// Expected messages, as the broker decodes them.

func accepted(taskID string) map[string]any {
	return map[string]any{"type": typeAccepted, "taskId": taskID}
}

func rejected(taskID, reason string) map[string]any {
	return map[string]any{"type": typeRejected, "taskId": taskID, "reason": reason}
}

func done(taskID string, raw json.RawMessage) map[string]any {
	return map[string]any{"type": typeDone, "taskId": taskID, "data": map[string]any{"result": decode(raw)}}
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

func decode(raw json.RawMessage) any {
	var v any
	Expect(json.Unmarshal(raw, &v)).To(Succeed())
	return v
}

func ptr[T any](v T) *T { return &v }

func taskIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%02d", prefix, i)
	}
	return ids
}
