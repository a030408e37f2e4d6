package fsm_test

import (
	"context"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/fsm"
	"github.com/runwire/runwire/transport"
)

// stubbornDialer ignores its context and returns a connection only when released, as a
// dial stuck in a system call would: the machine must not use or leak what comes back late.
type stubbornDialer struct {
	started chan struct{}
	release chan struct{}
	conn    *fakeConn
}

func (d *stubbornDialer) Dial(context.Context) (fsm.Conn, error) {
	close(d.started)
	<-d.release
	return d.conn, nil
}

// fakeConn is a connection that never says anything and counts how it is ended.
type fakeConn struct {
	msgs   chan transport.BrokerMessage
	aborts atomic.Int32
	closes atomic.Int32
}

func (c *fakeConn) Send(context.Context, transport.RunnerMessage) error { return nil }
func (c *fakeConn) Messages() <-chan transport.BrokerMessage            { return c.msgs }
func (c *fakeConn) Err() error                                          { return nil }
func (c *fakeConn) Close()                                              { c.closes.Add(1) }
func (c *fakeConn) Abort()                                              { c.aborts.Add(1) }

var _ = Describe("A dial that ends after the machine moved on", func() {
	It("is dropped and its connection aborted, never used", func(ctx SpecContext) {
		d := &stubbornDialer{started: make(chan struct{}), release: make(chan struct{}), conn: &fakeConn{msgs: make(chan transport.BrokerMessage)}}
		m, err := fsm.New(fsm.Options{Dialer: d})
		Expect(err).NotTo(HaveOccurred())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()

		Eventually(d.started).Should(BeClosed())
		m.Stop()
		Eventually(m.State).Should(Equal(fsm.Stopped))
		Consistently(done, 50*time.Millisecond).ShouldNot(Receive(), "Run waits for the dial goroutine")

		close(d.release)
		Eventually(done).Should(Receive(BeNil()))
		Expect(d.conn.aborts.Load()).To(Equal(int32(1)))
		Expect(d.conn.closes.Load()).To(BeZero())
		Expect(m.State()).To(Equal(fsm.Stopped))
	}, SpecTimeout(5*time.Second))
})
