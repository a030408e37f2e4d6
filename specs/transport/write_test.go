package transport_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/transport"
)

// brokerReading says how a loopback broker reads after broker:inforequest.
type brokerReading int

const (
	readSlowly brokerReading = iota // 64 KiB per 10 ms tick, about 6 MB/s, answering pings between messages
	readNever                       // never reads again, so never answers a ping
)

// slowBroker is a plain-ws broker that accepts grant-1 and reads as told; each message it
// reads in full goes to frames. begun gets one entry as it starts reading each message.
func slowBroker(how brokerReading) (url string, frames chan string, begun chan struct{}) {
	frames = make(chan string, 64)
	begun = make(chan struct{}, 64)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		ws.SetReadLimit(64 << 20)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { _ = ws.CloseNow() }()
			if ws.Write(ctx, websocket.MessageText, []byte(`{"type":"broker:inforequest"}`)) != nil {
				return
			}
			if how == readNever {
				<-ctx.Done()
				return
			}
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			buf := make([]byte, 64<<10)
			for {
				_, rd, err := ws.Reader(ctx)
				if err != nil {
					return
				}
				begun <- struct{}{}
				var sb strings.Builder
				for {
					select {
					case <-tick.C:
					case <-ctx.Done():
						return
					}
					n, err := rd.Read(buf)
					sb.Write(buf[:n])
					if err == io.EOF {
						break
					}
					if err != nil {
						return
					}
				}
				frames <- sb.String()
			}
		}()
	}))
	DeferCleanup(func() { cancel(); srv.Close(); wg.Wait() })
	return srv.URL, frames, begun
}

func dialSlow(ctx context.Context, url string, ping time.Duration, maxPayload int64) *transport.Conn {
	GinkgoHelper()
	d := &transport.Dialer{BrokerURI: url, RunnerID: transport.NewID(), GrantToken: "grant-1",
		MaxPayload: maxPayload, PingInterval: ping, HandshakeTimeout: 2 * time.Second}
	c, err := d.Dial(ctx)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(c.Abort)
	return c
}

// bigResult is a runner:taskdone whose frame is about size bytes.
func bigResult(size int) transport.TaskDone {
	raw, _ := json.Marshal([]map[string]map[string]string{{"json": {"s": strings.Repeat("x", size)}}})
	return transport.TaskDone{TaskID: "big", Data: transport.TaskResultData{Result: raw}}
}

var _ = Describe("Writes", Label("integration"), func() {
	It("counts a pong missing for one interval as lost when nothing is being written", func(ctx SpecContext) {
		url, _, _ := slowBroker(readNever)
		c := dialSlow(ctx, url, 20*time.Millisecond, 64<<20)
		Eventually(ctx, c.Done()).Should(BeClosed())
		Expect(c.Err()).To(MatchError(transport.ErrPongTimeout))
	}, SpecTimeout(10*time.Second))

	It("does not take a slow big write for a lost pong", func(ctx SpecContext) {
		url, frames, begun := slowBroker(readSlowly)
		// 100 ms: short against the write, long enough that a loaded machine answers in time.
		c := dialSlow(ctx, url, 100*time.Millisecond, 64<<20)
		// About a second for this broker to read: some 10 ping intervals.
		Expect(c.Send(ctx, bigResult(6<<20))).To(Succeed(), func() string { return fmt.Sprint("the connection: ", c.Err()) })
		Eventually(ctx, begun).Should(Receive())
		var got string
		Eventually(ctx, frames).Should(Receive(&got))
		Expect(len(got)).To(BeNumerically(">", 6<<20))
		Expect(c.Send(ctx, transport.TaskAccepted{TaskID: "after"})).To(Succeed())
		Eventually(ctx, frames).Should(Receive(Equal(`{"type":"runner:taskaccepted","taskId":"after"}`)))
		Consistently(c.Done()).WithTimeout(200*time.Millisecond).ShouldNot(BeClosed(), "pings go on being answered")
		Expect(c.Err()).NotTo(HaveOccurred())
	}, SpecTimeout(20*time.Second))

	It("finishes a write whose caller gives up halfway, and the connection stays up", func(ctx SpecContext) {
		url, frames, begun := slowBroker(readSlowly)
		c := dialSlow(ctx, url, time.Second, 64<<20)
		sctx, cancel := context.WithCancel(ctx)
		sent := make(chan error, 1)
		msg := bigResult(16 << 20) // more than the socket buffers hold
		go func() { sent <- c.Send(sctx, msg) }()
		Eventually(ctx, begun).Should(Receive(), "the broker has begun reading the big frame")
		cancel()
		Eventually(ctx, sent).Should(Receive(Succeed()), "a write once begun is finished")
		var got string
		Eventually(ctx, frames).Should(Receive(&got))
		want, err := transport.Encode(msg)
		Expect(err).NotTo(HaveOccurred())
		Expect(got).To(Equal(string(want)), "the whole message, as Encode writes it (sent in fragments, the result not copied)")
		Expect(c.Send(ctx, transport.TaskAccepted{TaskID: "after"})).To(Succeed())
		Eventually(ctx, frames).Should(Receive(Equal(`{"type":"runner:taskaccepted","taskId":"after"}`)))
		Expect(c.Err()).NotTo(HaveOccurred())
	}, SpecTimeout(20*time.Second))

	It("refuses a message larger than N8N_RUNNERS_MAX_PAYLOAD without sending it, and the connection stays up", func(ctx SpecContext) {
		url, frames, begun := slowBroker(readSlowly)
		c := dialSlow(ctx, url, time.Second, 100<<10)
		err := c.Send(ctx, bigResult(200<<10))
		Expect(err).To(MatchError(transport.ErrFrameTooBig))
		Expect(err.Error()).To(ContainSubstring("N8N_RUNNERS_MAX_PAYLOAD"))
		Expect(c.Send(ctx, transport.TaskAccepted{TaskID: "after"})).To(Succeed())
		Eventually(ctx, frames).Should(Receive(Equal(`{"type":"runner:taskaccepted","taskId":"after"}`)))
		Expect(c.Err()).NotTo(HaveOccurred())
		Expect(begun).To(HaveLen(1), "only the small message reached the broker")
	}, SpecTimeout(10*time.Second))
})
