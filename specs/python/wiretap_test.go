package python_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"strconv"
	"strings"
	"sync"
)

// wireTap is the broker's listener with a tap on it: it keeps the text of every WebSocket
// message the runner sends, exactly as it crossed the wire. support.Broker decodes what it
// receives and silently skips a frame that is not JSON, so a spec about what the runner may
// put on the wire (a bare NaN) reads it here instead. It understands just enough HTTP/1.1 to
// find the upgrade (requests before it, with a Content-Length body, are skipped) and the
// client side of RFC 6455: masked frames, fragments, control frames; no extensions (the
// runner and the broker negotiate no compression).
type wireTap struct {
	net.Listener

	mu   sync.Mutex
	text []string // text messages, in the order they arrived
	bad  []string // what the tap could not follow
}

func newWireTap() (*wireTap, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &wireTap{Listener: ln}, nil
}

// Accept implements net.Listener.
func (t *wireTap) Accept() (net.Conn, error) {
	c, err := t.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tappedConn{Conn: c, tap: t}, nil
}

// messages returns the text messages received so far, raw.
func (t *wireTap) messages() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.text...)
}

// problems lists what the tap could not parse (empty when it followed everything).
func (t *wireTap) problems() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.bad...)
}

func (t *wireTap) record(msg string) { t.mu.Lock(); t.text = append(t.text, msg); t.mu.Unlock() }
func (t *wireTap) fail(why string)   { t.mu.Lock(); t.bad = append(t.bad, why); t.mu.Unlock() }

// tappedConn feeds what the server reads from the runner to a parser. net/http and
// coder/websocket never read one connection from two goroutines at once, but the parser
// takes a lock anyway: it costs nothing here.
type tappedConn struct {
	net.Conn
	tap *wireTap

	mu       sync.Mutex
	buf      []byte
	ws       bool   // past the upgrade
	skip     int    // body bytes of a plain HTTP request still to skip
	broken   bool   // stop parsing after a problem
	fragment []byte // a text message still waiting for its final frame
	inText   bool
}

func (c *tappedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.feed(p[:n])
	}
	return n, err
}

func (c *tappedConn) feed(data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken {
		return
	}
	c.buf = append(c.buf, data...)
	for c.step() {
	}
}

// step consumes one HTTP request head, body chunk or WebSocket frame; false when it needs
// more bytes (or has given up).
func (c *tappedConn) step() bool {
	if c.skip > 0 {
		n := min(c.skip, len(c.buf))
		c.buf, c.skip = c.buf[n:], c.skip-n
		return n > 0
	}
	if !c.ws {
		end := bytes.Index(c.buf, []byte("\r\n\r\n"))
		if end < 0 {
			return false
		}
		head := strings.ToLower(string(c.buf[:end]))
		c.buf = c.buf[end+4:]
		for _, line := range strings.Split(head, "\r\n") {
			name, value, _ := strings.Cut(line, ":")
			switch strings.TrimSpace(name) {
			case "upgrade":
				c.ws = strings.TrimSpace(value) == "websocket"
			case "content-length":
				c.skip, _ = strconv.Atoi(strings.TrimSpace(value))
			case "transfer-encoding":
				c.giveUp("a chunked HTTP request body")
				return false
			}
		}
		return true
	}
	return c.frame()
}

func (c *tappedConn) frame() bool {
	b := c.buf
	if len(b) < 2 {
		return false
	}
	fin, op, masked := b[0]&0x80 != 0, b[0]&0x0f, b[1]&0x80 != 0
	if b[0]&0x70 != 0 {
		c.giveUp("a frame with RSV bits (an extension)")
		return false
	}
	size, at := uint64(b[1]&0x7f), 2
	switch size {
	case 126:
		if len(b) < 4 {
			return false
		}
		size, at = uint64(binary.BigEndian.Uint16(b[2:4])), 4
	case 127:
		if len(b) < 10 {
			return false
		}
		size, at = binary.BigEndian.Uint64(b[2:10]), 10
	}
	var mask []byte
	if masked {
		if len(b) < at+4 {
			return false
		}
		mask, at = b[at:at+4], at+4
	}
	if uint64(len(b)-at) < size {
		return false
	}
	payload := append([]byte(nil), b[at:at+int(size)]...)
	for i := range payload {
		if mask != nil {
			payload[i] ^= mask[i%4]
		}
	}
	c.buf = b[at+int(size):]
	switch op {
	case 0x1: // text
		c.fragment, c.inText = payload, true
	case 0x2: // binary: not a broker message
		c.inText = false
		return true
	case 0x0: // continuation
		if c.inText {
			c.fragment = append(c.fragment, payload...)
		}
	default: // close, ping, pong
		return true
	}
	if fin && c.inText {
		c.tap.record(string(c.fragment))
		c.fragment, c.inText = nil, false
	}
	return true
}

func (c *tappedConn) giveUp(why string) {
	c.broken = true
	c.tap.fail(why)
}
