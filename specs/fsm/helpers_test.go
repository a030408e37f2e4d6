package fsm_test

import (
	"context"
	"log/slog"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/runwire/runwire/fsm"
	"github.com/runwire/runwire/specs/support"
	"github.com/runwire/runwire/transport"
)

const authToken = "spec-auth-token-4b1d"

// recordingBackoff remembers every delay the machine asked for.
type recordingBackoff struct {
	inner  fsm.Exponential
	mu     sync.Mutex
	delays []time.Duration
}

func (r *recordingBackoff) Delay(retries int) time.Duration {
	d := r.inner.Delay(retries)
	r.mu.Lock()
	r.delays = append(r.delays, d)
	r.mu.Unlock()
	return d
}

func (r *recordingBackoff) Delays() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.delays...)
}

// runner is a machine under test, running in its own goroutine.
type runner struct {
	m        *fsm.Machine
	dialer   *transport.Dialer
	backoff  *recordingBackoff
	logs     *gbytes.Buffer
	finished chan struct{}
	err      error
}

// Err is what Run returned; only read after finished is closed.
func (r *runner) Err() error { <-r.finished; return r.err }

type tweak func(d *transport.Dialer, o *fsm.Options)

// newRunner builds a machine for brokerURI with spec timings (milliseconds) and JSON logs
// in a buffer; tweaks adjust it. Cleanup stops it and waits for Run to return.
func newRunner(brokerURI string, tweaks ...tweak) *runner {
	logs := gbytes.NewBuffer()
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := &transport.Dialer{
		BrokerURI:        brokerURI,
		RunnerID:         transport.NewID(),
		AuthToken:        authToken,
		MaxPayload:       1 << 20,
		PingInterval:     time.Second,
		HandshakeTimeout: 2 * time.Second,
		Logger:           logger,
	}
	rb := &recordingBackoff{inner: fsm.Exponential{Initial: 10 * time.Millisecond, Max: 80 * time.Millisecond, Multiplier: 2}}
	opts := fsm.Options{Backoff: rb, Logger: logger, TaskTypes: []string{"python"}}
	for _, t := range tweaks {
		t(d, &opts)
	}
	opts.Dialer = fsm.TransportDialer(d)
	m, err := fsm.New(opts)
	Expect(err).NotTo(HaveOccurred())
	r := &runner{m: m, dialer: d, backoff: rb, logs: logs, finished: make(chan struct{})}
	DeferCleanup(func() {
		m.Stop()
		Eventually(r.finished).Should(BeClosed())
	})
	return r
}

// start runs the machine with ctx.
func (r *runner) start(ctx context.Context) *runner {
	go func() {
		defer close(r.finished)
		r.err = r.m.Run(ctx)
	}()
	return r
}

// newBroker starts a loopback broker that Cleanup closes.
func newBroker() *support.Broker {
	b := support.NewBroker(authToken, nil)
	DeferCleanup(b.Close)
	return b
}

// grantOnly makes the runner use a grant token as given, with no auth token.
func grantOnly(grant string) tweak {
	return func(d *transport.Dialer, _ *fsm.Options) {
		d.AuthToken = ""
		d.GrantToken = grant
	}
}

// nextRegistration waits for the broker to register a connection.
func nextRegistration(b *support.Broker) *support.BrokerConn {
	var c *support.BrokerConn
	EventuallyWithOffset(1, b.Registered()).Should(Receive(&c))
	return c
}
