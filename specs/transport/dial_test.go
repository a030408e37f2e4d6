package transport_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/coder/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/transport"
)

// tlsBroker is a minimal broker behind TLS: it accepts any bearer, sends
// broker:inforequest, and hands each frame it reads to frames.
func tlsBroker() (*httptest.Server, *http.Client, chan string) {
	frames := make(chan string, 1024)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/runners/_ws" || r.Header.Get("Authorization") != "Bearer grant-1" {
			http.Error(w, "", http.StatusForbidden)
			return
		}
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { _ = ws.CloseNow() }()
			if ws.Write(ctx, websocket.MessageText, []byte(`{"type":"broker:inforequest"}`)) != nil {
				return
			}
			for {
				_, data, err := ws.Read(ctx)
				if err != nil {
					return
				}
				frames <- string(data)
			}
		}()
	}))
	DeferCleanup(func() { cancel(); srv.Close(); wg.Wait() })
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	return srv, client, frames
}

var _ = Describe("Dialer", Label("integration"), func() {
	It("keeps TLS for an https broker URI and returns once broker:inforequest arrived", func(ctx SpecContext) {
		srv, client, frames := tlsBroker()
		d := &transport.Dialer{BrokerURI: srv.URL, RunnerID: transport.NewID(), GrantToken: "grant-1",
			MaxPayload: 1 << 20, HandshakeTimeout: 2 * time.Second, HTTPClient: client}
		Expect(srv.URL).To(HavePrefix("https://"))
		c, err := d.Dial(ctx)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(c.Abort)
		Expect(c.Send(ctx, transport.RunnerInfo{Name: "runwire", Types: []string{}})).To(Succeed())
		Eventually(frames).Should(Receive(MatchJSON(`{"type":"runner:info","name":"runwire","types":[]}`)))
	}, SpecTimeout(10*time.Second))

	It("sends whole frames from many goroutines at once", func(ctx SpecContext) {
		srv, client, frames := tlsBroker()
		d := &transport.Dialer{BrokerURI: srv.URL, RunnerID: transport.NewID(), GrantToken: "grant-1",
			MaxPayload: 1 << 20, HandshakeTimeout: 2 * time.Second, HTTPClient: client}
		c, err := d.Dial(ctx)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(c.Abort)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 25 {
					_ = c.Send(ctx, transport.TaskAccepted{TaskID: string(rune('a' + i))})
				}
			}()
		}
		wg.Wait()
		for range 500 {
			var f string
			Eventually(frames).Should(Receive(&f))
			Expect(f).To(MatchRegexp(`^\{"type":"runner:taskaccepted","taskId":"[a-t]"\}$`))
		}
	}, SpecTimeout(10*time.Second))

	It("does not talk TLS-less to an https broker: a plain ws dial to it fails", func(ctx SpecContext) {
		srv, _, _ := tlsBroker()
		d := &transport.Dialer{BrokerURI: "ws://" + srv.Listener.Addr().String(), RunnerID: "r", GrantToken: "grant-1",
			MaxPayload: 1 << 20, HandshakeTimeout: time.Second}
		_, err := d.Dial(ctx)
		Expect(err).To(HaveOccurred())
	}, SpecTimeout(10*time.Second))
})
