package tasks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/runwire/runwire/fsm"
	"github.com/runwire/runwire/tasks"
	"github.com/runwire/runwire/transport"
)

// BenchmarkTaskRoundTrip measures runwire's protocol overhead per task over loopback with an
// executor that does nothing: from broker:taskofferaccept sent to runner:taskdone received,
// through the real transport, machine and manager. One op is one task; allocations count
// both sides (the driver below is lean, but it is in the same process).
//
//	go test -run '^$' -bench TaskRoundTrip -benchtime 5000x ./tasks/
func BenchmarkTaskRoundTrip(b *testing.B) {
	for _, slots := range []int{1, 10} {
		b.Run(fmt.Sprintf("slots=%d", slots), func(b *testing.B) { benchRoundTrip(b, slots) })
	}
}

func benchRoundTrip(b *testing.B, slots int) {
	driver := newDriver(b)
	noop := tasks.ExecutorFunc(func(context.Context, tasks.Task, tasks.Console) (json.RawMessage, error) {
		return json.RawMessage(`[{"json":{"a":1}}]`), nil
	})
	mgr, err := tasks.New(tasks.Options{Executors: map[string]tasks.Executor{"python": noop}, MaxConcurrency: slots})
	if err != nil {
		b.Fatal(err)
	}
	d := &transport.Dialer{BrokerURI: driver.srv.URL, RunnerID: "bench", GrantToken: "g", MaxPayload: 1 << 20, HandshakeTimeout: 5 * time.Second}
	m, err := fsm.New(fsm.Options{Dialer: fsm.TransportDialer(d), Handler: mgr, TaskTypes: mgr.TaskTypes()})
	if err != nil {
		b.Fatal(err)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- m.Run(context.Background()) }()
	defer func() {
		m.Stop()
		if err := <-runDone; err != nil {
			b.Error(err)
		}
		mgr.Wait()
	}()
	conn := driver.waitConn(b)

	latencies := make([]time.Duration, b.N)
	var next sync.Mutex
	i := 0
	take := func() (int, bool) {
		next.Lock()
		defer next.Unlock()
		if i >= b.N {
			return 0, false
		}
		i++
		return i - 1, true
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, ok := take()
				if !ok {
					return
				}
				latencies[n] = conn.roundTrip(b, fmt.Sprintf("w%dt%d", w, n))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()

	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tasks/s")
	b.ReportMetric(0, "ns/op") // per-op time mixes workers; the three metrics above say it
}

// driver is a minimal broker: it registers the runner, then hands out the runner's offers
// and routes each task's answers to whoever drives that task.
type driver struct {
	srv   *httptest.Server
	conns chan *driverConn
}

type driverConn struct {
	ws     *websocket.Conn
	offers chan string
	mu     sync.Mutex
	wait   map[string]chan string // task id → the types of the runner's answers
}

func newDriver(b *testing.B) *driver {
	d := &driver{conns: make(chan *driverConn, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c := &driverConn{ws: ws, offers: make(chan string, 1024), wait: map[string]chan string{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.serve(ctx, d.conns)
		}()
	}))
	b.Cleanup(func() { cancel(); d.srv.CloseClientConnections(); d.srv.Close(); wg.Wait() })
	return d
}

func (d *driver) waitConn(b *testing.B) *driverConn {
	select {
	case c := <-d.conns:
		return c
	case <-time.After(10 * time.Second):
		b.Fatal("runner did not register")
		return nil
	}
}

func (c *driverConn) serve(ctx context.Context, registered chan<- *driverConn) {
	defer func() { _ = c.ws.CloseNow() }()
	if c.ws.Write(ctx, websocket.MessageText, []byte(`{"type":"broker:inforequest"}`)) != nil {
		return
	}
	var m struct {
		Type    string `json:"type"`
		TaskID  string `json:"taskId"`
		OfferID string `json:"offerId"`
	}
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			return
		}
		m.TaskID, m.OfferID = "", ""
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		switch m.Type {
		case "runner:info":
			if c.ws.Write(ctx, websocket.MessageText, []byte(`{"type":"broker:runnerregistered"}`)) != nil {
				return
			}
			registered <- c
		case "runner:taskoffer":
			c.offers <- m.OfferID
		default:
			c.mu.Lock()
			ch := c.wait[m.TaskID]
			c.mu.Unlock()
			if ch != nil {
				ch <- m.Type
			}
		}
	}
}

// roundTrip runs one task and returns the time from the accept sent to the taskdone read.
func (c *driverConn) roundTrip(b *testing.B, taskID string) time.Duration {
	answers := make(chan string, 4)
	c.mu.Lock()
	c.wait[taskID] = answers
	c.mu.Unlock()
	defer func() { c.mu.Lock(); delete(c.wait, taskID); c.mu.Unlock() }()

	offerID := <-c.offers
	start := time.Now()
	write(b, c, `{"type":"broker:taskofferaccept","taskId":"`+taskID+`","offerId":"`+offerID+`"}`)
	if got := <-answers; got != "runner:taskaccepted" {
		b.Fatalf("task %s: %s instead of runner:taskaccepted", taskID, got)
	}
	write(b, c, `{"type":"broker:tasksettings","taskId":"`+taskID+`","settings":{"code":"return [{\"json\": {\"a\": 1}}]","nodeMode":"runOnceForAllItems","continueOnFail":false,"items":[{"json":{}}]}}`)
	if got := <-answers; got != "runner:taskdone" {
		b.Fatalf("task %s: %s instead of runner:taskdone", taskID, got)
	}
	return time.Since(start)
}

func write(b *testing.B, c *driverConn, frame string) {
	if err := c.ws.Write(context.Background(), websocket.MessageText, []byte(frame)); err != nil {
		b.Fatal(err)
	}
}
