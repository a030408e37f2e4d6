package fsm

import (
	"context"
	"errors"
	"fmt"
	"time"

	looplab "github.com/looplab/fsm"

	"github.com/runwire/runwire/transport"
)

// Each enter_<state> callback starts that state's work in an owned goroutine and returns at
// once; the matching leave_<state> cancels it. None blocks and none calls Event.

// enterConnecting starts one dial.
func (m *Machine) enterConnecting(_ context.Context, _ *looplab.Event) {
	ctx, epoch := m.stateContext(), m.epoch
	m.spawn(func() { m.dial(ctx, epoch) })
}

// leaveState cancels the work of the state being left (the dial, the backoff wait).
func (m *Machine) leaveState(_ context.Context, e *looplab.Event) {
	cause := errLeaving
	if Event(e.Event) == EventStop {
		cause = errStopping
	}
	m.cancelState(cause)
}

// enterListening answers broker:inforequest and serves the connection.
func (m *Machine) enterListening(_ context.Context, e *looplab.Event) {
	ctx, epoch := m.stateContext(), m.epoch
	l := link{Conn: argPost(e).conn, reset: make(chan struct{}, 1)}
	m.idleReset = l.reset
	m.spawn(func() { m.listen(ctx, epoch, l) })
}

// leaveListening closes the connection (via the listen goroutine) and withdraws readiness.
func (m *Machine) leaveListening(ctx context.Context, e *looplab.Event) {
	m.leaveState(ctx, e)
	m.mu.Lock()
	m.registered = false
	m.mu.Unlock()
}

// enterBackoff waits before the next attempt.
func (m *Machine) enterBackoff(_ context.Context, _ *looplab.Event) {
	m.delay = m.opts.Backoff.Delay(m.retries)
	m.retries++
	ctx, epoch, delay := m.stateContext(), m.epoch, m.delay
	m.spawn(func() {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
			m.post(post{epoch: epoch, event: EventRetry, reason: fmt.Sprintf("waited %s", delay.Round(time.Millisecond))})
		case <-ctx.Done():
		}
	})
}

// enterAuthFailed records Run's error.
func (m *Machine) enterAuthFailed(_ context.Context, e *looplab.Event) {
	m.authErr = fmt.Errorf("%w: %w", ErrAuthFailed, argPost(e).err)
}

// nextEpoch makes every post from the state being left stale.
func (m *Machine) nextEpoch(_ context.Context, _ *looplab.Event) {
	m.epoch++
}

// funnel is the one place a state change is published: the state, the watchers, one log line.
func (m *Machine) funnel(_ context.Context, e *looplab.Event) {
	p, to := argPost(e), State(e.Dst)
	m.mu.Lock()
	m.state = to
	close(m.changed)
	m.changed = make(chan struct{})
	m.mu.Unlock()

	attrs := []any{"from", e.Src, "to", e.Dst, "event", e.Event}
	switch {
	case p.err != nil:
		attrs = append(attrs, "reason", p.err.Error())
	case p.reason != "":
		attrs = append(attrs, "reason", p.reason)
	}
	if to == Backoff {
		attrs = append(attrs, "retry_in", m.delay.Round(time.Millisecond).String())
	}
	m.log.Info(changeMessage(State(e.Src), to), attrs...)
	if m.opts.OnChange != nil {
		m.opts.OnChange(State(e.Src), to, Event(e.Event))
	}
}

// changeMessage keeps the texts n8n's runners log, which people and tools look for.
func changeMessage(from, to State) string {
	switch to {
	case Connecting:
		return "Connecting to broker"
	case Listening:
		return "Connected to broker"
	case Backoff:
		if from == Listening {
			return "Disconnected from broker"
		}
		return "Failed to connect to broker"
	case AuthFailed:
		return "Authentication failed"
	case Stopped:
		return "Runner stopped"
	default:
		return "State changed"
	}
}

// registeredNow runs in the loop on broker:runnerregistered.
func (m *Machine) registeredNow() {
	m.mu.Lock()
	already := m.registered
	m.registered = true
	m.mu.Unlock()
	if already {
		return
	}
	m.retries = 0
	m.log.Info("Registered with broker")
	if d := m.opts.IdleTimeout; d > 0 {
		// Idle shutdown is armed on registration and belongs to this connection: leaving
		// Listening cancels it, as n8n's runner cancels its idle timer on disconnect.
		ctx, reset := m.stateCtx, m.idleReset
		m.spawn(func() { m.idle(ctx, d, reset) })
	}
}

// dial makes one attempt and posts its outcome.
func (m *Machine) dial(ctx context.Context, epoch uint64) {
	conn, err := m.opts.Dialer.Dial(ctx)
	if err != nil {
		ev := EventDialFailed
		if errors.Is(err, transport.ErrAuthRejected) {
			ev = EventAuthRejected
		}
		m.post(post{epoch: epoch, event: ev, err: err})
		return
	}
	if !m.post(post{epoch: epoch, event: EventConnected, conn: conn, reason: "broker sent broker:inforequest"}) {
		conn.Abort()
	}
}

// listen serves one connection: runner:info, registration, then the handler. On stop the
// connection closes with 1001; otherwise at once.
func (m *Machine) listen(ctx context.Context, epoch uint64, conn link) {
	defer func() {
		if errors.Is(context.Cause(ctx), errStopping) {
			conn.Close()
		} else {
			conn.Abort()
		}
	}()
	if err := conn.Send(ctx, m.info()); err != nil {
		m.post(post{epoch: epoch, event: EventConnLost, err: err})
		return
	}
	registered := false
	msgs := conn.Messages()
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-msgs:
			if !ok {
				m.post(post{epoch: epoch, event: EventConnLost, err: conn.Err()})
				return
			}
			switch msg.(type) {
			case transport.InfoRequest:
				if err := conn.Send(ctx, m.info()); err != nil {
					m.post(post{epoch: epoch, event: EventConnLost, err: err})
					return
				}
			case transport.RunnerRegistered:
				if registered {
					continue
				}
				registered = true
				m.post(post{kind: postRegistered, epoch: epoch})
				if m.opts.Handler != nil {
					m.opts.Handler.Registered(ctx, conn)
				}
			default:
				if registered && m.opts.Handler != nil {
					m.opts.Handler.Handle(ctx, msg, conn)
					continue
				}
				m.log.Debug("Ignored a broker message", "type", msg.BrokerType(), "registered", registered)
			}
		}
	}
}

func (m *Machine) info() transport.RunnerInfo {
	types := m.opts.TaskTypes
	if types == nil {
		types = []string{}
	}
	return transport.RunnerInfo{Name: m.opts.Name, Types: types}
}

// idle calls OnIdle once the timeout passes with no reset and no task, unless the connection
// ends first. As in n8n's runner, firing while a task exists does nothing and does not
// re-arm: the next reset (a task finishing or cancelled) does.
func (m *Machine) idle(ctx context.Context, d time.Duration, reset <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reset:
			t.Reset(d)
		case <-t.C:
			if m.opts.Handler != nil && m.opts.Handler.Busy() {
				continue
			}
			m.log.Info("Reached idle timeout, starting shutdown...", "timeout", d.String())
			m.opts.OnIdle()
			return
		}
	}
}
