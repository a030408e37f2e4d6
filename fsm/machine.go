package fsm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	looplab "github.com/looplab/fsm"
)

// DefaultName is the runner name sent in runner:info.
const DefaultName = "runwire"

// Options configure a Machine. Dialer is required; the rest have defaults.
type Options struct {
	Dialer Dialer
	// Backoff spaces connection attempts; nil means DefaultBackoff.
	Backoff Backoffer
	// Logger receives one line per state change; nil discards.
	Logger *slog.Logger
	// Name and TaskTypes are sent in runner:info.
	Name      string
	TaskTypes []string
	// Handler serves registered connections; nil ignores every message after registration.
	Handler Handler
	// IdleTimeout > 0 calls OnIdle when the runner has been registered that long without a
	// reset (N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT). Run refuses to start if OnIdle is nil.
	IdleTimeout time.Duration
	// OnIdle is called from the idle timer's goroutine; it typically calls Stop.
	OnIdle func()
	// OnChange, if set, is called once per state change from the machine's goroutine, after
	// the change is published (package metrics counts reconnects and auth failures with
	// it); it must return at once and must not call the Machine.
	OnChange func(from, to State, ev Event)
}

// DefaultBackoff is 1 s growing ×1.6 to a 30 s cap, ±20 % jitter.
var DefaultBackoff = Exponential{Initial: time.Second, Max: 30 * time.Second, Multiplier: 1.6, Jitter: 0.2}

// Machine is the connection lifecycle. Create it with New, drive it with Run, end it with
// Stop. State, Registered and WaitForStateChange may be called from any goroutine.
type Machine struct {
	opts Options
	log  *slog.Logger
	fsm  *looplab.FSM

	posts    chan post
	loopDone chan struct{}
	stopCh   chan struct{}
	stopOnce sync.Once
	ran      atomic.Bool
	// owner is held by whoever may call looplab's Event: Run for its whole life, or Stop
	// for one transition when no Run is in progress.
	owner sync.Mutex

	// Owned by the owner.
	base        context.Context
	cancelBase  context.CancelFunc
	stateCtx    context.Context
	cancelState context.CancelCauseFunc
	epoch       uint64
	retries     int
	delay       time.Duration
	idleReset   chan struct{}
	authErr     error
	wg          sync.WaitGroup

	// Read by any goroutine.
	mu         sync.Mutex
	state      State
	registered bool
	changed    chan struct{}
}

// post is what goroutines send to the run loop.
type post struct {
	kind   postKind
	epoch  uint64
	event  Event
	conn   Conn   // with EventConnected
	err    error  // the cause, for the log and for AuthFailed
	reason string // a cause that is not an error
}

type postKind int

const (
	postEvent postKind = iota
	postRegistered
)

// errStopping and errLeaving tell a state's goroutine why its context ended: on stop the
// connection closes with 1001 (going away), otherwise at once.
var (
	errStopping = errors.New("runner stopping")
	errLeaving  = errors.New("state left")
)

// New builds a Machine in Idle.
func New(opts Options) (*Machine, error) {
	if opts.Dialer == nil {
		return nil, errors.New("fsm: Options.Dialer is required")
	}
	if opts.Backoff == nil {
		opts.Backoff = DefaultBackoff
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	m := &Machine{
		opts:     opts,
		log:      opts.Logger,
		posts:    make(chan post),
		loopDone: make(chan struct{}),
		stopCh:   make(chan struct{}),
		state:    Idle,
		changed:  make(chan struct{}),
	}
	m.fsm = NewTable(Idle, looplab.Callbacks{
		onEnter(Connecting): m.enterConnecting,
		onLeave(Connecting): m.leaveState,
		onEnter(Listening):  m.enterListening,
		onLeave(Listening):  m.leaveListening,
		onEnter(Backoff):    m.enterBackoff,
		onLeave(Backoff):    m.leaveState,
		onEnter(AuthFailed): m.enterAuthFailed,
		"leave_state":       m.nextEpoch,
		"enter_state":       m.funnel,
	})
	return m, nil
}

// Run starts the machine and blocks until it is Stopped (it then returns nil) or AuthFailed
// (it then returns an error matching ErrAuthFailed). Cancelling ctx stops the machine. Run
// returns only after every goroutine the machine started has ended. A Machine runs once.
func (m *Machine) Run(ctx context.Context) error {
	if m.opts.IdleTimeout > 0 && m.opts.OnIdle == nil {
		return &NoIdleTimeoutHandlerError{Timeout: m.opts.IdleTimeout}
	}
	if !m.ran.CompareAndSwap(false, true) {
		return ErrAlreadyRun
	}
	m.owner.Lock()
	defer m.handOver()
	// State work must outlive callbacks and not die with a request-scoped ctx in odd
	// ways: it ends when the machine leaves the state or when Run returns.
	m.base, m.cancelBase = context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		close(m.loopDone) // goroutines still posting give up
		m.cancelBase()
		m.wg.Wait()
	}()
	if m.State() == Stopped {
		return nil
	}
	m.fire(EventStart, post{reason: "Run called"})
	for !m.State().Terminal() {
		select {
		case p := <-m.posts:
			m.handle(p)
		case <-m.stopCh:
			m.fire(EventStop, post{reason: "stop requested"})
		case <-ctx.Done():
			m.fire(EventStop, post{reason: "context cancelled"})
		}
	}
	if m.State() == AuthFailed {
		return m.authErr
	}
	return nil
}

// Stop moves the machine to Stopped from any state: it aborts a dial, cancels a backoff
// wait, closes a connection with 1001 (going away). It does not wait; Run returns once
// everything has ended. Safe to call any number of times from any goroutine.
func (m *Machine) Stop() {
	m.stopOnce.Do(func() { close(m.stopCh) })
	m.stopUnowned()
}

// stopUnowned applies stop when no Run owns the machine (before Run, or after AuthFailed).
// When Run owns it, Run sees stopCh and stops the machine itself.
func (m *Machine) stopUnowned() {
	if !m.owner.TryLock() {
		return
	}
	defer m.owner.Unlock()
	if m.State() != Stopped {
		m.fire(EventStop, post{reason: "stop requested"})
	}
}

// handOver releases ownership at the end of Run and applies a stop that arrived while Run
// was finishing (Stop's TryLock failed then, so nobody else will).
func (m *Machine) handOver() {
	m.owner.Unlock()
	select {
	case <-m.stopCh:
		m.stopUnowned()
	default:
	}
}

// State is the current state.
func (m *Machine) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// Registered reports whether the broker has registered the runner on the current
// connection (broker:runnerregistered); it is false outside Listening.
func (m *Machine) Registered() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.registered
}

// WaitForStateChange blocks until the state differs from from (true) or ctx is done (false).
func (m *Machine) WaitForStateChange(ctx context.Context, from State) bool {
	m.mu.Lock()
	if m.state != from {
		m.mu.Unlock()
		return true
	}
	ch := m.changed
	m.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// fire is the only place that calls looplab's Event, always with a context that cannot be
// cancelled: a cancelled one wedges looplab/fsm for good.
func (m *Machine) fire(ev Event, p post) {
	p.event = ev
	err := m.fsm.Event(context.Background(), string(ev), p)
	if err == nil {
		return
	}
	var invalid looplab.InvalidEventError
	if errors.As(err, &invalid) {
		m.log.Debug("Dropped an event the current state does not take", "event", string(ev), "state", string(m.State()))
		m.discard(p)
		return
	}
	// InTransition, Canceled, Async or Internal errors cannot happen with this design.
	panic(fmt.Sprintf("fsm: event %s refused: %v", ev, err))
}

// handle runs a post in the loop, dropping those from an abandoned state instance.
func (m *Machine) handle(p post) {
	if p.epoch != m.epoch {
		m.log.Debug("Dropped a stale event", "event", string(p.event), "state", string(m.State()))
		m.discard(p)
		return
	}
	switch p.kind {
	case postEvent:
		m.fire(p.event, p)
	case postRegistered:
		m.registeredNow()
	}
}

// discard releases what a dropped post carries.
func (m *Machine) discard(p post) {
	if p.conn != nil {
		m.spawn(p.conn.Abort)
	}
}

// post hands p to the run loop; false if the loop has ended.
func (m *Machine) post(p post) bool {
	select {
	case m.posts <- p:
		return true
	case <-m.loopDone:
		return false
	}
}

// spawn runs f in a goroutine that Run waits for.
func (m *Machine) spawn(f func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
}

// stateContext starts the context of the state being entered; leaving cancels it.
func (m *Machine) stateContext() context.Context {
	ctx, cancel := context.WithCancelCause(m.base)
	m.stateCtx, m.cancelState = ctx, cancel
	return ctx
}

func argPost(e *looplab.Event) post {
	if len(e.Args) > 0 {
		if p, ok := e.Args[0].(post); ok {
			return p
		}
	}
	return post{}
}
