// Package support holds the specs' doubles: a loopback n8n task broker and a TCP proxy that
// can black-hole a connection. They use the real network stack (httptest, coder/websocket)
// rather than mocks, and every goroutine they start ends with Close.
package support

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/coder/websocket"
)

// Refusal is how the broker refuses a WebSocket upgrade whose grant token it does not know.
type Refusal int

const (
	// RefuseHTTP answers 403 before the upgrade, as n8n 2.41 does (401 without a header).
	RefuseHTTP Refusal = iota
	// RefuseClose upgrades, then closes without a status code before broker:inforequest,
	// as n8n 2.1 does.
	RefuseClose
)

// Broker is a loopback stand-in for n8n's task broker: POST /runners/auth hands out
// single-use grant tokens for AuthToken, GET /runners/_ws upgrades for a fresh grant, sends
// broker:inforequest, registers the runner on runner:info and records what it receives.
// Knobs may be changed at any time; all methods are safe for concurrent use.
type Broker struct {
	AuthToken string

	srv *httptest.Server

	mu            sync.Mutex
	grants        map[string]bool // issued and not yet used
	refusal       Refusal
	authStatus    int  // forced /runners/auth status, 0 = normal
	upgradeStatus int  // forced upgrade status, 0 = normal
	skipInfo      bool // accept, then close before broker:inforequest
	readLimit     int64
	hold          chan struct{}
	dials         int
	authRequests  int
	conns         []*BrokerConn
	registered    chan *BrokerConn
	wg            sync.WaitGroup
	ctx           context.Context
	cancel        context.CancelFunc
}

// NewBroker starts a broker on 127.0.0.1. listener may be nil for a random port.
func NewBroker(authToken string, listener net.Listener) *Broker {
	ctx, cancel := context.WithCancel(context.Background())
	b := &Broker{
		AuthToken:  authToken,
		grants:     map[string]bool{},
		registered: make(chan *BrokerConn, 64),
		readLimit:  1 << 20,
		ctx:        ctx,
		cancel:     cancel,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /runners/auth", b.handleAuth)
	mux.HandleFunc("GET /runners/_ws", b.handleWS)
	b.srv = httptest.NewUnstartedServer(mux)
	if listener != nil {
		_ = b.srv.Listener.Close()
		b.srv.Listener = listener
	}
	b.srv.Start()
	return b
}

// URL is the broker URI to give the runner (http://127.0.0.1:port).
func (b *Broker) URL() string { return b.srv.URL }

// Close ends every connection and stops the server.
func (b *Broker) Close() {
	b.mu.Lock()
	if b.hold != nil {
		close(b.hold)
		b.hold = nil
	}
	conns := append([]*BrokerConn(nil), b.conns...)
	b.mu.Unlock()
	b.cancel()
	for _, c := range conns {
		_ = c.ws.CloseNow()
	}
	b.srv.CloseClientConnections()
	b.srv.Close()
	b.wg.Wait()
}

// IssueGrant creates a fresh single-use grant token, as POST /runners/auth does.
func (b *Broker) IssueGrant() string {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	g := hex.EncodeToString(raw[:])
	b.mu.Lock()
	b.grants[g] = true
	b.mu.Unlock()
	return g
}

// SetRefusal chooses how an unknown grant is refused.
func (b *Broker) SetRefusal(r Refusal) { b.mu.Lock(); b.refusal = r; b.mu.Unlock() }

// SetAuthStatus forces POST /runners/auth to answer code (0 restores normal behaviour).
func (b *Broker) SetAuthStatus(code int) { b.mu.Lock(); b.authStatus = code; b.mu.Unlock() }

// SetUpgradeStatus forces the upgrade to answer code (0 restores normal behaviour).
func (b *Broker) SetUpgradeStatus(code int) { b.mu.Lock(); b.upgradeStatus = code; b.mu.Unlock() }

// SetReadLimit sets the largest message the broker accepts on later connections (n8n's
// N8N_RUNNERS_MAX_PAYLOAD; 1 MiB unless set). A larger one makes it close the connection with
// 1009, as n8n's broker does.
func (b *Broker) SetReadLimit(n int64) { b.mu.Lock(); b.readLimit = n; b.mu.Unlock() }

// SetSkipInfoRequest makes accepted connections close before broker:inforequest.
func (b *Broker) SetSkipInfoRequest(on bool) { b.mu.Lock(); b.skipInfo = on; b.mu.Unlock() }

// HoldUpgrades makes upgrade requests wait until ReleaseUpgrades (or Close).
func (b *Broker) HoldUpgrades() {
	b.mu.Lock()
	if b.hold == nil {
		b.hold = make(chan struct{})
	}
	b.mu.Unlock()
}

// ReleaseUpgrades lets held and later upgrade requests through.
func (b *Broker) ReleaseUpgrades() {
	b.mu.Lock()
	if b.hold != nil {
		close(b.hold)
		b.hold = nil
	}
	b.mu.Unlock()
}

// Dials counts upgrade requests to /runners/_ws.
func (b *Broker) Dials() int { b.mu.Lock(); defer b.mu.Unlock(); return b.dials }

// AuthRequests counts POST /runners/auth requests.
func (b *Broker) AuthRequests() int { b.mu.Lock(); defer b.mu.Unlock(); return b.authRequests }

// Registered delivers each connection once the broker has registered its runner.
func (b *Broker) Registered() <-chan *BrokerConn { return b.registered }

func (b *Broker) handleAuth(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.authRequests++
	forced := b.authStatus
	b.mu.Unlock()
	if forced != 0 {
		http.Error(w, `{"message":"forced"}`, forced)
		return
	}
	var body struct {
		Token *string `json:"token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Token == nil || *body.Token == "" {
		http.Error(w, `{}`, http.StatusBadRequest)
		return
	}
	if *body.Token != b.AuthToken {
		http.Error(w, `{}`, http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]string{"token": b.IssueGrant()}})
}

func (b *Broker) handleWS(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.dials++
	hold, forced, refusal, skip, limit := b.hold, b.upgradeStatus, b.refusal, b.skipInfo, b.readLimit
	b.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		case <-b.ctx.Done():
			return
		}
	}
	if forced != 0 {
		http.Error(w, "forced", forced)
		return
	}
	auth := r.Header.Get("Authorization")
	grant, hasBearer := strings.CutPrefix(auth, "Bearer ")
	b.mu.Lock()
	valid := hasBearer && b.grants[grant]
	delete(b.grants, grant) // single-use
	b.mu.Unlock()
	if !valid && refusal == RefuseHTTP {
		code := http.StatusForbidden
		if !hasBearer {
			code = http.StatusUnauthorized
		}
		http.Error(w, "", code)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(limit)
	if !valid || skip {
		// n8n 2.1: the pipeline after the upgrade refuses with a close that has no code.
		_ = ws.Close(websocket.StatusNoStatusRcvd, "")
		return
	}
	c := &BrokerConn{ID: r.URL.Query().Get("id"), ws: ws, closed: make(chan struct{}), types: make(chan string, 256), msgs: make(chan map[string]any, 1<<16)}
	b.mu.Lock()
	b.conns = append(b.conns, c)
	b.mu.Unlock()
	// The connection outlives the handler's request context, as coder/websocket advises.
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		c.serve(b.ctx, b.registered)
	}()
}

// BrokerConn is one runner connection as the broker sees it.
type BrokerConn struct {
	ID string // the runner id from ?id=
	ws *websocket.Conn

	closed chan struct{}
	types  chan string
	msgs   chan map[string]any

	mu        sync.Mutex
	received  []map[string]any
	closeCode websocket.StatusCode
}

func (c *BrokerConn) serve(ctx context.Context, registered chan<- *BrokerConn) {
	defer close(c.closed)
	if err := c.SendJSON(ctx, map[string]any{"type": "broker:inforequest"}); err != nil {
		return
	}
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			c.mu.Lock()
			c.closeCode = websocket.CloseStatus(err)
			c.mu.Unlock()
			_ = c.ws.CloseNow()
			return
		}
		var m map[string]any
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		c.mu.Lock()
		c.received = append(c.received, m)
		c.mu.Unlock()
		typ, _ := m["type"].(string)
		select {
		case c.types <- typ:
		default:
		}
		select {
		case c.msgs <- m:
		case <-ctx.Done():
			return
		}
		if typ == "runner:info" {
			if c.SendJSON(ctx, map[string]any{"type": "broker:runnerregistered"}) == nil {
				select {
				case registered <- c:
				case <-ctx.Done():
				}
			}
		}
	}
}

// SendJSON sends v as one text frame.
func (c *BrokerConn) SendJSON(ctx context.Context, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.ws.Write(ctx, websocket.MessageText, data)
}

// SendRaw sends data as one frame of type typ.
func (c *BrokerConn) SendRaw(ctx context.Context, typ websocket.MessageType, data []byte) error {
	return c.ws.Write(ctx, typ, data)
}

// Close closes the connection with code and waits until it has ended.
func (c *BrokerConn) Close(code websocket.StatusCode) { _ = c.ws.Close(code, ""); <-c.closed }

// Drop ends the TCP connection without a close frame.
func (c *BrokerConn) Drop() { _ = c.ws.CloseNow(); <-c.closed }

// Closed is closed once the connection has ended.
func (c *BrokerConn) Closed() <-chan struct{} { return c.closed }

// CloseCode is the close status the runner sent (-1 if none, e.g. a dropped connection).
func (c *BrokerConn) CloseCode() websocket.StatusCode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode
}

// Types delivers the type of each message the runner sends, in order.
func (c *BrokerConn) Types() <-chan string { return c.types }

// Messages delivers every message the runner sends, decoded, in order.
func (c *BrokerConn) Messages() <-chan map[string]any { return c.msgs }

// Received returns the messages the runner has sent so far, decoded.
func (c *BrokerConn) Received() []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]map[string]any(nil), c.received...)
}
