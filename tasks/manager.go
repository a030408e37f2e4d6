package tasks

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/runwire/runwire/fsm"
	"github.com/runwire/runwire/transport"
)

// Reasons sent in runner:taskrejected, as n8n's runners word them.
const (
	RejectOfferExpired = "Offer expired - not accepted within validity window"
	RejectNoSlots      = "No open task slots - runner already at capacity"
	RejectShuttingDown = "Runner is shutting down"
	// RejectUnavailable answers an accept for a task type whose executor cannot run tasks
	// (its interpreter is missing, say): the broker then gives the task to another runner.
	RejectUnavailable = "Task type not available on this runner"
)

// Messages of aborted tasks, as n8n's Python runner words them.
const (
	MessageCancelled = "Task was cancelled"
)

// Defaults for Options left zero.
const (
	DefaultMaxConcurrency  = 5
	DefaultTaskTimeout     = 60 * time.Second
	DefaultSettingsTimeout = 10 * time.Second
	DefaultOfferInterval   = 250 * time.Millisecond
	DefaultOfferValidity   = 5000 * time.Millisecond
	DefaultOfferJitter     = 500 * time.Millisecond
	// BrokerSettingsWindow is how long n8n's broker waits for a task's settings after the
	// runner accepted it; after that it cancels the task.
	BrokerSettingsWindow = 2 * time.Second
	// OfferLatencyBuffer is added to an offer's validity on runwire's own clock only, so an
	// accept that the broker sent just in time is not refused.
	OfferLatencyBuffer = 100 * time.Millisecond
)

// Options configure a Manager; zero values take the defaults. With no executors the Manager
// offers nothing but still serves drain and shutdown.
type Options struct {
	// Executors serve tasks by type; runner:info and the offers list exactly these types.
	Executors map[string]Executor
	// MaxConcurrency bounds open offers + tasks (N8N_RUNNERS_MAX_CONCURRENCY).
	MaxConcurrency int
	// TaskTimeout bounds one task's execution (N8N_RUNNERS_TASK_TIMEOUT).
	TaskTimeout time.Duration
	// SettingsTimeout bounds the wait between accepting a task and its settings.
	SettingsTimeout time.Duration
	// OfferInterval, OfferValidity and OfferJitter shape the offers: a pass every
	// interval, each offer valid for validity + a random 0..jitter (inclusive, in ms). Zero
	// takes n8n's values (250 ms, 5000 ms, 500 ms).
	OfferInterval time.Duration
	OfferValidity time.Duration
	OfferJitter   time.Duration
	// OnDrain, if set, is called once per broker:drain, after offers stopped. A runner that
	// cannot reconnect (it has only a single-use grant token) uses it to stop once its
	// running tasks are done, as n8n's JS runner exits after a drain.
	OnDrain func()
	// Observer, if set, is told each task's outcome (package metrics).
	Observer Observer
	Logger   *slog.Logger
}

// Manager is task handling for one runner process; it serves one registered connection at a
// time. It implements fsm.Handler. All methods are safe for concurrent use.
type Manager struct {
	opts  Options
	log   *slog.Logger
	types []string
	wg    sync.WaitGroup

	mu       sync.Mutex
	sess     *session          // the registered connection, nil when there is none
	offers   map[string]offer  // open offers by id
	tasks    map[string]*task  // every task that exists, by id
	calls    map[string]string // pending RPC call id → task id
	stopping bool              // Shutdown was called
	next     int               // round-robin index into types for offers
}

// session is one registered connection.
type session struct {
	ctx      context.Context // ends with the connection
	link     fsm.Link
	kick     chan struct{} // asks for an offer pass now
	draining bool          // broker:drain received on this connection
}

type offer struct {
	taskType string
	expires  time.Time
}

// New builds a Manager.
func New(opts Options) (*Manager, error) {
	for typ, ex := range opts.Executors {
		if typ == "" || ex == nil {
			return nil, errors.New("tasks: every executor needs a task type and a non-nil Executor")
		}
	}
	if opts.MaxConcurrency <= 0 {
		opts.MaxConcurrency = DefaultMaxConcurrency
	}
	opts.TaskTimeout = orDefault(opts.TaskTimeout, DefaultTaskTimeout)
	opts.SettingsTimeout = orDefault(opts.SettingsTimeout, DefaultSettingsTimeout)
	opts.OfferInterval = orDefault(opts.OfferInterval, DefaultOfferInterval)
	opts.OfferValidity = orDefault(opts.OfferValidity, DefaultOfferValidity)
	opts.OfferJitter = orDefault(opts.OfferJitter, DefaultOfferJitter)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	types := make([]string, 0, len(opts.Executors))
	for typ := range opts.Executors {
		types = append(types, typ)
	}
	slices.Sort(types)
	return &Manager{
		opts:   opts,
		log:    opts.Logger,
		types:  types,
		offers: map[string]offer{},
		tasks:  map[string]*task{},
		calls:  map[string]string{},
	}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// TaskTypes lists the registered task types, sorted.
func (m *Manager) TaskTypes() []string { return slices.Clone(m.types) }

// Registered starts serving a newly registered connection: offers begin. When ctx ends (the
// connection is gone), its offers are forgotten and its tasks cancelled.
func (m *Manager) Registered(ctx context.Context, link fsm.Link) {
	s := &session{ctx: ctx, link: link, kick: make(chan struct{}, 1)}
	m.mu.Lock()
	m.sess = s
	clear(m.offers) // offers belong to a connection; a new one starts afresh
	m.mu.Unlock()
	m.wg.Add(1)
	go m.serve(s)
}

// serve is the connection's offer loop; when the connection ends it cleans up after it.
func (m *Manager) serve(s *session) {
	defer m.wg.Done()
	t := time.NewTicker(m.opts.OfferInterval)
	defer t.Stop()
	m.offerPass(s)
	for {
		select {
		case <-s.ctx.Done():
			m.connectionLost(s)
			return
		case <-t.C:
		case <-s.kick:
		}
		m.offerPass(s)
	}
}

// Handle takes one broker message on the registered connection.
func (m *Manager) Handle(_ context.Context, msg transport.BrokerMessage, _ fsm.Link) {
	switch msg := msg.(type) {
	case transport.TaskOfferAccept:
		m.accept(msg)
	case transport.TaskSettings:
		m.settings(msg)
	case transport.TaskCancel:
		m.cancel(msg)
	case transport.RPCResponse:
		m.rpcResponse(msg)
	case transport.Drain:
		m.drain()
	default:
		m.log.Debug("Ignored a broker message", "type", msg.BrokerType())
	}
}

// Busy reports whether any task exists (waiting for settings or running).
func (m *Manager) Busy() bool { return m.Running() > 0 }

// Running is the number of tasks that exist (waiting for settings, running or aborting).
func (m *Manager) Running() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tasks)
}

// OpenOffers is the number of offers sent and not yet accepted, expired or forgotten.
func (m *Manager) OpenOffers() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.offers)
}

// Wait blocks until every goroutine the Manager started has ended: call it after the
// machine has stopped.
func (m *Manager) Wait() { m.wg.Wait() }

// kickLocked asks the current connection's offer loop for a pass now: a slot just freed.
func (m *Manager) kickLocked() {
	if m.sess == nil {
		return
	}
	select {
	case m.sess.kick <- struct{}{}:
	default:
	}
}
