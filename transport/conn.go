package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// inboxSize bounds the decoded messages waiting for the consumer. The reader keeps reading
// (and so keeps answering pings) until the inbox is full.
const inboxSize = 256

// closeReason is sent with the going-away close; keep it static and short.
const closeReason = "runner shutting down"

// Conn is one open connection to the broker. It owns two goroutines, a reader and a pinger,
// which stop when the connection ends; Close and Abort wait for them.
//
// All methods are safe for concurrent use. Messages has a single consumer.
type Conn struct {
	ws         *websocket.Conn
	logger     *slog.Logger
	maxPayload int64
	inbox      chan BrokerMessage
	done       chan struct{}
	cancel     context.CancelFunc
	wg         sync.WaitGroup

	turn      chan struct{} // held by the one write in progress (write.go)
	closing   chan struct{} // closed once Close or Abort has begun
	closeOnce sync.Once
	writing   atomic.Bool  // a frame is being written
	written   atomic.Int64 // bytes handed to the WebSocket so far (counted as each write begins)
	received  atomic.Int64 // bytes of messages read so far (counted as they arrive)
	traffic   *Traffic     // the process's totals over every connection; nil: not counted
	decoding  atomic.Bool  // the reader is decoding a message

	mu  sync.Mutex
	err error
}

func newConn(ws *websocket.Conn, pingInterval time.Duration, maxPayload int64, logger *slog.Logger, traffic *Traffic) *Conn {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// The connection's life is its own: not the dial's context, which ends with Dial.
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{
		ws:         ws,
		logger:     logger,
		maxPayload: maxPayload,
		inbox:      make(chan BrokerMessage, inboxSize),
		done:       make(chan struct{}),
		cancel:     cancel,
		turn:       make(chan struct{}, 1),
		closing:    make(chan struct{}),
		traffic:    traffic,
	}
	c.wg.Add(1)
	go c.read(ctx)
	if pingInterval > 0 {
		c.wg.Add(1)
		go c.ping(ctx, pingInterval)
	}
	return c
}

// Messages delivers the broker's messages in order. It is closed when the connection ends;
// Err then says why.
func (c *Conn) Messages() <-chan BrokerMessage { return c.inbox }

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended, or nil while it is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the connection with 1001 (going away) and the close handshake, then waits for
// the connection's goroutines. Later Sends fail with ErrClosing; a write in progress is let
// finish first (within its own deadline), so that the close frame follows it instead of
// cutting it off. The handshake takes at most a few seconds with an unresponsive broker.
func (c *Conn) Close() {
	if c.beginClose() {
		c.fail(errors.New("runner closed the connection"))
		c.turn <- struct{}{} // held for good: no write comes after the close frame
		_ = c.ws.Close(websocket.StatusGoingAway, closeReason)
	}
	c.cancel()
	c.wg.Wait()
}

// Abort ends the connection at once, without a close handshake, and waits for the
// connection's goroutines.
func (c *Conn) Abort() {
	c.beginClose()
	c.fail(errors.New("runner aborted the connection"))
	_ = c.ws.CloseNow()
	c.cancel()
	c.wg.Wait()
}

// fail records the first reason the connection ended.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// awaitInfoRequest consumes messages until broker:inforequest, the broker's sign that it
// accepted the runner.
func (c *Conn) awaitInfoRequest(ctx context.Context) error {
	for {
		select {
		case m, ok := <-c.inbox:
			if !ok {
				if err := c.Err(); errors.Is(err, ErrMessageTooBig) || errors.Is(err, ErrPongTimeout) {
					return err
				}
				return fmt.Errorf("%w (%w)", ErrClosedBeforeInfoRequest, c.Err())
			}
			if _, ok := m.(InfoRequest); ok {
				return nil
			}
			c.logger.Warn("Skipped a broker message that came before broker:inforequest", "type", m.BrokerType())
		case <-ctx.Done():
			return fmt.Errorf("broker did not send broker:inforequest in time: %w", context.Cause(ctx))
		}
	}
}

// read is the connection's only reader. Reading is also what answers the broker's pings and
// receives its close frame, so it runs for the whole life of the connection.
func (c *Conn) read(ctx context.Context) {
	defer c.wg.Done()
	defer close(c.done)
	defer close(c.inbox)
	for {
		typ, data, err := c.readMessage(ctx)
		if err != nil {
			c.fail(c.readError(err))
			_ = c.ws.CloseNow()
			return
		}
		if typ != websocket.MessageText {
			c.logger.Warn("Skipped a binary frame from the broker", "size", len(data))
			continue
		}
		c.decoding.Store(true)
		m, err := Decode(data)
		c.decoding.Store(false)
		if err != nil {
			c.logger.Warn("Skipped a broker message that could not be decoded", "type", decodedType(err), "size", len(data), "error", err)
			continue
		}
		select {
		case c.inbox <- m:
		case <-ctx.Done():
			c.fail(context.Cause(ctx))
			return
		}
	}
}

// readMessage is websocket.Conn.Read, counting the message's bytes as they arrive: while a
// big message comes in, the broker's pongs queue behind it, and the pinger must see that
// the broker is still sending (ping.go).
func (c *Conn) readMessage(ctx context.Context) (websocket.MessageType, []byte, error) {
	typ, r, err := c.ws.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	data, err := io.ReadAll(countingReader{r: r, n: &c.received})
	if c.traffic != nil {
		c.traffic.In.Add(int64(len(data)))
	}
	return typ, data, err
}

// Traffic counts the message bytes of every connection a Dialer opens: what the broker sent
// (In, counted once a message has been read) and what runwire sent (Out, counted as each
// write begins). Safe for concurrent use.
type Traffic struct {
	In, Out atomic.Int64
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (cr countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	cr.n.Add(int64(n))
	return n, err
}

func decodedType(err error) string {
	var de *DecodeError
	if errors.As(err, &de) && de.Type != "" {
		return de.Type
	}
	return "(unknown)"
}

// readError turns a read failure into a sentence about the connection.
func (c *Conn) readError(err error) error {
	switch {
	case errors.Is(err, websocket.ErrMessageTooBig):
		return fmt.Errorf("%w (%d bytes)", ErrMessageTooBig, c.maxPayload)
	case websocket.CloseStatus(err) != -1:
		return fmt.Errorf("broker closed the connection with %d (%s): %w", int(websocket.CloseStatus(err)), websocket.CloseStatus(err), err)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("broker dropped the connection: %w", err)
	default:
		return fmt.Errorf("failed to read from the broker: %w", err)
	}
}
