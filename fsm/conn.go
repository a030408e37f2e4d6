package fsm

import (
	"context"

	"github.com/runwire/runwire/transport"
)

// Dialer makes one connection attempt and returns the connection once the broker has sent
// broker:inforequest. An error matching transport.ErrAuthRejected leads to AuthFailed; any
// other error to Backoff. Dial must give up when ctx is cancelled.
type Dialer interface {
	Dial(ctx context.Context) (Conn, error)
}

// Sender sends runner messages on the current connection; safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m transport.RunnerMessage) error
}

// Conn is an open connection to the broker, as *transport.Conn provides it.
type Conn interface {
	Sender
	// Messages delivers the broker's messages and is closed when the connection ends.
	Messages() <-chan transport.BrokerMessage
	// Err says why the connection ended.
	Err() error
	// Close ends the connection with 1001 (going away); Abort ends it at once. Both wait for
	// the connection's goroutines and may be called more than once.
	Close()
	Abort()
}

// Link is a registered connection as the Handler sees it.
type Link interface {
	Sender
	// ResetIdle re-arms the idle timer (N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT): task handling
	// calls it on every accept and every finished or cancelled task. It never blocks.
	ResetIdle()
}

// Handler is what runs on a registered connection: task handling plugs in here. Registered
// and Handle are called from the connection's listen goroutine, in message order, and must
// not block for long: the connection's reader stalls behind them. ctx is cancelled when the
// machine leaves Listening.
type Handler interface {
	// Registered is called once per connection, on broker:runnerregistered.
	Registered(ctx context.Context, link Link)
	// Handle receives every broker message after registration other than the
	// registration itself.
	Handle(ctx context.Context, m transport.BrokerMessage, link Link)
	// Busy reports whether any task exists; the idle timer does not fire while it does.
	// Called from the idle timer's goroutine.
	Busy() bool
}

// link is the Link of one Listening state instance.
type link struct {
	Conn
	reset chan struct{}
}

func (l link) ResetIdle() {
	select {
	case l.reset <- struct{}{}:
	default: // a reset is already pending; one is enough
	}
}

// TransportDialer adapts a *transport.Dialer to Dialer.
func TransportDialer(d *transport.Dialer) Dialer { return transportDialer{d} }

type transportDialer struct{ d *transport.Dialer }

func (t transportDialer) Dial(ctx context.Context) (Conn, error) {
	c, err := t.d.Dial(ctx)
	if err != nil {
		return nil, err // not c: a typed nil in an interface is not nil
	}
	return c, nil
}
