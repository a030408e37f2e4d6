package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// errPongLate ends the wait for a pong that is late by the rule of pingOnce.
var errPongLate = errors.New("pong late")

// ping checks the broker's liveness, once per interval: a ping not answered in time ends the
// connection with ErrPongTimeout. "In time" is one interval, plus what a broker reading
// 1 MiB/s needs to read what runwire wrote before the ping (writePerMiB, the rate the write
// deadline assumes too), plus as long as the broker's own message keeps arriving or is being
// decoded. So a big result to a broker that reads slowly, or a big task from the broker, is
// not a lost pong: the ping's frame, or the broker's pong, queues behind that data. A broker
// that stops reading is caught by the write's own deadline, and one that stops sending in the
// middle of a message by the pong, one interval after the last byte came.
func (c *Conn) ping(ctx context.Context, interval time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	var answered int64 // c.written when the last answered ping went out: the broker has read that far
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case <-t.C:
			mark := c.written.Load()
			late, err := c.pingOnce(ctx, interval, answered)
			switch {
			case err == nil:
				answered = mark
			case late:
				c.fail(fmt.Errorf("%w (interval %s)", ErrPongTimeout, interval))
				_ = c.ws.CloseNow()
				return
			case ctx.Err() != nil, errors.Is(err, net.ErrClosed):
				return // the connection is ending; the reader reports why
			case c.writing.Load():
				// coder/websocket gives a control frame 5 s to get its turn to be written:
				// a longer write of runwire's own is in progress. Not the broker's fault.
				c.logger.Debug("A ping waited behind a long write; trying again at the next interval")
			default:
				return // the connection is ending; the reader reports why
			}
		}
	}
}

// pingOnce sends one ping and waits for its pong; late is true when the pong did not come
// within the budget: interval, plus writePerMiB for every MiB written since answered (more
// is added while writes go on meanwhile), and it never expires while a write is in progress,
// a message is being decoded, or bytes of one came in during the last interval.
func (c *Conn) pingOnce(ctx context.Context, interval time.Duration, answered int64) (late bool, err error) {
	start := time.Now()
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	budget := func() time.Duration {
		return interval + time.Duration((c.written.Load()-answered)>>20)*writePerMiB
	}
	// The watcher ends when the ping returns (cancel) or when it calls the pong late.
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		t := time.NewTimer(interval)
		defer t.Stop()
		read := c.received.Load()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
			}
			arriving := c.received.Load() != read
			read = c.received.Load()
			if left := budget() - time.Since(start); left > 0 || arriving || c.writing.Load() || c.decoding.Load() {
				t.Reset(max(left, interval))
				continue
			}
			cancel(errPongLate)
			return
		}
	}()
	defer func() { cancel(nil); <-watched }()
	err = c.ws.Ping(pctx)
	return err != nil && errors.Is(context.Cause(pctx), errPongLate), err
}
