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
	parts, err := encodeParts(m)
	if err != nil {
		return err
	}
	size := 0
	for _, p := range parts {
		size += len(p)
	}
	if c.maxPayload > 0 && int64(size) > c.maxPayload {
		return &FrameTooBigError{Type: m.RunnerType(), Size: size, Limit: c.maxPayload}
	}
	if err := c.write(ctx, size, parts); err != nil {
		return fmt.Errorf("failed to send %s: %w", m.RunnerType(), err)
	}
	return nil
}

// streamAt is the size from which a task's result is not copied into its frame: the message
// goes out in fragments, the result's bytes as they are.
const streamAt = 1 << 20

// encodeParts is Encode, as the parts of one message: a big result stays out of the copy.
func encodeParts(m RunnerMessage) ([][]byte, error) {
	if d, ok := m.(TaskDone); ok && len(d.Data.Result) >= streamAt {
		head, tail, err := taskDoneParts(d)
		if err != nil {
			return nil, err
		}
		return [][]byte{head, d.Data.Result, tail}, nil
	}
	frame, err := Encode(m)
	return [][]byte{frame}, err
}

// write takes the write turn, then writes the message (its parts as one message, in
// fragments) under its own deadline.
func (c *Conn) write(ctx context.Context, size int, parts [][]byte) error {
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
	c.written.Add(int64(size))
	if c.traffic != nil {
		c.traffic.Out.Add(int64(size))
	}
	c.writing.Store(true)
	defer c.writing.Store(false)
	wctx, cancel := context.WithTimeout(context.Background(), writeTimeout(size))
	defer cancel()
	if len(parts) == 1 {
		return c.ws.Write(wctx, websocket.MessageText, parts[0])
	}
	w, err := c.ws.Writer(wctx, websocket.MessageText)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			_ = w.Close()
			return err
		}
	}
	return w.Close()
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
