package transport

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coder/websocket"
)

// Every write gets a deadline of its own, not its caller's context: coder/websocket closes
// the connection, without a close frame, when the context of a write in progress ends, and a
// caller's context ends for reasons that have nothing to do with the connection (a stop, a
// cancelled task). The deadline covers a broker that has stopped reading: writeBase, plus
// writePerMiB for every MiB of the frame (a broker that takes in less than 1 MiB/s is gone).
const (
	writeBase   = 10 * time.Second
	writePerMiB = time.Second
)

// ErrClosing means a message was not sent because the connection is closing.
var ErrClosing = errors.New("connection to the broker is closing")

// ErrFrameTooBig means a runner message is larger than the broker accepts
// (N8N_RUNNERS_MAX_PAYLOAD): it was not sent, and the connection stays up. n8n's broker
// would close the connection with 1009 and fail every task on it.
var ErrFrameTooBig = errors.New("message exceeds N8N_RUNNERS_MAX_PAYLOAD")

// FrameTooBigError is ErrFrameTooBig with the sizes; errors.Is(err, ErrFrameTooBig) matches it.
type FrameTooBigError struct {
	Type  string // the runner message's type
	Size  int    // the encoded frame, in bytes
	Limit int64  // N8N_RUNNERS_MAX_PAYLOAD
}

func (e *FrameTooBigError) Error() string {
	return fmt.Sprintf("%s of %d bytes exceeds N8N_RUNNERS_MAX_PAYLOAD (%d bytes)", e.Type, e.Size, e.Limit)
}

// Unwrap returns ErrFrameTooBig.
func (e *FrameTooBigError) Unwrap() error { return ErrFrameTooBig }

// writeTimeout is the deadline of one write of size bytes.
func writeTimeout(size int) time.Duration {
	return writeBase + time.Duration(size>>20)*writePerMiB
}

// Send writes one message as one text frame. Safe to call from many goroutines; frames are
// never interleaved. ctx bounds only the wait for a turn to write: once the frame is being
// written it is finished under its own deadline (see writeBase), so that a caller giving up
// never tears the connection down. A message larger than N8N_RUNNERS_MAX_PAYLOAD is refused
// with a *FrameTooBigError before anything is written.
func (c *Conn) Send(ctx context.Context, m RunnerMessage) error {
	frame, err := Encode(m)
	if err != nil {
		return err
	}
	if c.maxPayload > 0 && int64(len(frame)) > c.maxPayload {
		return &FrameTooBigError{Type: m.RunnerType(), Size: len(frame), Limit: c.maxPayload}
	}
	if err := c.write(ctx, frame); err != nil {
		return fmt.Errorf("failed to send %s: %w", m.RunnerType(), err)
	}
	return nil
}

// write takes the write turn, then writes frame under its own deadline.
func (c *Conn) write(ctx context.Context, frame []byte) error {
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-c.closing:
		return ErrClosing
	}
	defer func() { <-c.turn }()
	select {
	case <-c.closing: // Close started while this write waited: the close frame is next
		return ErrClosing
	default:
	}
	c.written.Add(int64(len(frame)))
	c.writing.Store(true)
	defer c.writing.Store(false)
	wctx, cancel := context.WithTimeout(context.Background(), writeTimeout(len(frame)))
	defer cancel()
	return c.ws.Write(wctx, websocket.MessageText, frame)
}

// beginClose makes later Sends fail with ErrClosing; it reports whether this call did.
func (c *Conn) beginClose() bool {
	first := false
	c.closeOnce.Do(func() {
		first = true
		close(c.closing)
	})
	return first
}
