package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// broker is a lean loopback stand-in for n8n's task broker, just what runwire needs:
// POST /runners/auth swaps the auth token for a single-use grant, GET /runners/_ws upgrades for
// a valid grant, sends broker:inforequest and registers the runner on runner:info. After that
// each connection collects the runner's offers and routes every answer about a task to
// whoever drives that task. It keeps the per-message work small: the time stamp of a message
// is taken as soon as it is read, before it is parsed.
type broker struct {
	authToken string
	url       string
	srv       *http.Server

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	grants     map[string]bool // issued, not yet used
	lastAuth   time.Time       // when the last POST /runners/auth arrived
	conns      []*runnerConn
	registered chan *runnerConn
}

// startBroker listens on 127.0.0.1 on a random port.
func startBroker(authToken string) (*broker, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &broker{
		authToken:  authToken,
		url:        "http://" + ln.Addr().String(),
		ctx:        ctx,
		cancel:     cancel,
		grants:     map[string]bool{},
		registered: make(chan *runnerConn, 16),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /runners/auth", b.handleAuth)
	mux.HandleFunc("GET /runners/_ws", b.handleWS)
	b.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		_ = b.srv.Serve(ln)
	}()
	return b, nil
}

// close ends every connection and the server.
func (b *broker) close() {
	b.cancel()
	b.mu.Lock()
	conns := append([]*runnerConn(nil), b.conns...)
	b.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.CloseNow()
	}
	_ = b.srv.Close()
	b.wg.Wait()
}

// waitRegistered returns the next connection whose runner the broker registered.
func (b *broker) waitRegistered(ctx context.Context, timeout time.Duration) (*runnerConn, error) {
	select {
	case c := <-b.registered:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(timeout):
		return nil, fmt.Errorf("runwire did not register within %s", timeout)
	}
}

func (b *broker) handleAuth(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Token == "" {
		http.Error(w, `{}`, http.StatusBadRequest)
		return
	}
	if body.Token != b.authToken {
		http.Error(w, `{}`, http.StatusForbidden)
		return
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	grant := hex.EncodeToString(raw[:])
	b.mu.Lock()
	b.grants[grant] = true
	b.lastAuth = at
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]string{"token": grant}})
}

func (b *broker) handleWS(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	grant, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	b.mu.Lock()
	ok = ok && b.grants[grant]
	delete(b.grants, grant) // single-use
	authAt := b.lastAuth
	b.mu.Unlock()
	if !ok {
		http.Error(w, "", http.StatusForbidden)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(256 << 20)
	c := &runnerConn{
		ws:        ws,
		authAt:    authAt,
		upgradeAt: at,
		offers:    newOfferPool(),
		waiters:   map[string]*taskWaiter{},
		open:      map[string]bool{},
		closed:    make(chan struct{}),
	}
	b.mu.Lock()
	b.conns = append(b.conns, c)
	b.mu.Unlock()
	// The connection outlives the handler's request, as coder/websocket allows.
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		c.serve(b.ctx, b.registered)
	}()
}

// runnerConn is one runner connection as the broker sees it.
type runnerConn struct {
	ws        *websocket.Conn
	authAt    time.Time // the grant's POST /runners/auth
	upgradeAt time.Time // the upgrade request
	infoAt    time.Time // runner:info read (the broker registers the runner then)
	types     []string  // task types from runner:info
	offers    *offerPool

	mu      sync.Mutex
	waiters map[string]*taskWaiter // task id → its driver
	open    map[string]bool        // accepts sent without a final answer yet (with no waiter: abandoned)
	strays  []string               // messages about no task being driven
	readErr error

	closed chan struct{}
}

// header is the part of a runner message the broker routes by.
type header struct {
	Type     string   `json:"type"`
	TaskID   string   `json:"taskId"`
	OfferID  string   `json:"offerId"`
	TaskType string   `json:"taskType"`
	ValidFor int      `json:"validFor"`
	CallID   string   `json:"callId"`
	Reason   string   `json:"reason"`
	Types    []string `json:"types"`
}

// event is one runner answer about a task.
type event struct {
	typ    string
	at     time.Time
	reason string // runner:taskrejected
	data   []byte // the whole message, for runner:taskdone and runner:taskerror
	prints int    // logNodeOutput calls received for the task before this message
}

// taskWaiter is the driver of one task.
type taskWaiter struct {
	events chan event
	prints int // guarded by runnerConn.mu
}

func (c *runnerConn) serve(ctx context.Context, registered chan<- *runnerConn) {
	defer close(c.closed)
	defer func() { _ = c.ws.CloseNow() }()
	if err := c.send(ctx, []byte(`{"type":"broker:inforequest"}`)); err != nil {
		c.fail(err)
		return
	}
	for {
		_, data, err := c.ws.Read(ctx)
		at := time.Now()
		if err != nil {
			c.fail(err)
			return
		}
		var h header
		if err := json.Unmarshal(data, &h); err != nil {
			c.stray("unparsable message: " + truncate(string(data), 200))
			continue
		}
		switch h.Type {
		case "runner:info":
			c.infoAt, c.types = at, h.Types
			if err := c.send(ctx, []byte(`{"type":"broker:runnerregistered"}`)); err != nil {
				c.fail(err)
				return
			}
			select {
			case registered <- c:
			case <-ctx.Done():
				return
			}
		case "runner:taskoffer":
			c.offers.add(offer{id: h.OfferID, taskType: h.TaskType, expires: at.Add(time.Duration(h.ValidFor) * time.Millisecond)})
		case "runner:rpc":
			c.mu.Lock()
			w := c.waiters[h.TaskID]
			if w != nil {
				w.prints++
			}
			abandoned := w == nil && c.open[h.TaskID] // its driver gave up (the bench is stopping)
			c.mu.Unlock()
			if w == nil && !abandoned {
				c.stray("runner:rpc for a task not running: " + truncate(string(data), 200))
			}
			// n8n's requester answers every logNodeOutput call; the broker forwards it.
			reply, _ := json.Marshal(map[string]any{"type": "broker:rpcresponse", "callId": h.CallID, "taskId": h.TaskID, "status": "success", "data": nil})
			if err := c.send(ctx, reply); err != nil {
				c.fail(err)
				return
			}
		case "runner:taskaccepted", "runner:taskrejected", "runner:taskdone", "runner:taskerror":
			c.mu.Lock()
			w := c.waiters[h.TaskID]
			var prints int
			if w != nil {
				prints = w.prints
			}
			abandoned := w == nil && c.open[h.TaskID]
			if h.Type != "runner:taskaccepted" {
				delete(c.open, h.TaskID)
			}
			c.mu.Unlock()
			if w == nil {
				if !abandoned {
					c.stray(h.Type + " for a task not running: " + truncate(string(data), 200))
				}
				continue
			}
			ev := event{typ: h.Type, at: at, reason: h.Reason, prints: prints}
			if h.Type == "runner:taskdone" || h.Type == "runner:taskerror" {
				ev.data = data
			}
			select {
			case w.events <- ev:
			default:
				c.stray(h.Type + " beyond what the driver expects: " + truncate(string(data), 200))
			}
		default:
			c.stray("unexpected message: " + truncate(string(data), 200))
		}
	}
}

func (c *runnerConn) send(ctx context.Context, frame []byte) error {
	return c.ws.Write(ctx, websocket.MessageText, frame)
}

func (c *runnerConn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readErr == nil {
		c.readErr = err
	}
}

func (c *runnerConn) stray(what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.strays) < 20 {
		c.strays = append(c.strays, what)
	}
}

// protocolErrors are the messages the broker could not attribute to a driven task.
func (c *runnerConn) protocolErrors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.strays...)
}

// closedErr says why the connection ended.
func (c *runnerConn) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readErr == nil {
		return errors.New("the runner connection closed")
	}
	return fmt.Errorf("the runner connection closed: %w", c.readErr)
}

func (c *runnerConn) watch(taskID string) *taskWaiter {
	w := &taskWaiter{events: make(chan event, 4)}
	c.mu.Lock()
	c.waiters[taskID] = w
	c.mu.Unlock()
	return w
}

// opened notes an accept about to be sent: the task is the runner's until its final answer.
func (c *runnerConn) opened(taskID string) {
	c.mu.Lock()
	c.open[taskID] = true
	c.mu.Unlock()
}

// goAwayIfBusy closes the connection with 1001, as a broker that shuts down does, when some
// accepted task never got its answer (the bench was interrupted mid-task): the runner then
// drops those tasks at once instead of waiting out its graceful shutdown for their settings.
func (c *runnerConn) goAwayIfBusy() {
	c.mu.Lock()
	busy := len(c.open) > 0
	c.mu.Unlock()
	if busy {
		_ = c.ws.Close(websocket.StatusGoingAway, "broker shutting down")
	}
}

func (c *runnerConn) unwatch(taskID string) {
	c.mu.Lock()
	delete(c.waiters, taskID)
	c.mu.Unlock()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
