package health_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/health"
)

var _ = Describe("Shutdown", func() {
	// dial reports whether anything accepts connections on the server's port.
	dial := func(ctx context.Context, srv *health.Server) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(srv.Host(), strconv.Itoa(srv.Port())))
		if err == nil {
			_ = conn.Close()
		}
		return err
	}

	It("returns, stops serving and frees the port", func(ctx SpecContext) {
		srv := startServer(nil)
		Expect(get(ctx, newClient(), url(srv, "/healthz")).Status).To(Equal(http.StatusOK))

		Expect(srv.Shutdown(ctx)).To(Succeed())

		Expect(dial(ctx, srv)).To(HaveOccurred())
		again, err := health.Listen("127.0.0.1", srv.Port(), nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(again.Shutdown(ctx)).To(Succeed())
	}, SpecTimeout(specTimeout))

	It("does not leak with an already cancelled context", func(ctx SpecContext) {
		// No request first: after one, net/http moves the kept-alive connection from active
		// to idle on its own schedule, and Shutdown with a cancelled context reports a
		// connection that is still active. The next spec covers a request in flight.
		srv := startServer(nil)
		cancelled, cancel := context.WithCancel(ctx)
		cancel()

		err := srv.Shutdown(cancelled)

		// Nothing was in flight, so there was nothing to cut short.
		Expect(err).NotTo(HaveOccurred())
		Expect(dial(ctx, srv)).To(HaveOccurred())
	}, SpecTimeout(specTimeout))

	It("with a cancelled context cuts a request in flight, reports it and does not leak", func(ctx SpecContext) {
		entered := make(chan struct{})
		release := make(chan struct{})
		var once sync.Once
		srv := startServer(func() error {
			once.Do(func() { close(entered) })
			<-release
			return nil
		})
		// Let the handler finish however the spec ends; the leak check runs after this.
		DeferCleanup(func() { close(release) })

		client := newClient()
		probed := make(chan error, 1)
		go func() {
			defer GinkgoRecover()
			_, err := probe(ctx, client, http.MethodGet, url(srv, "/readyz"))
			probed <- err
		}()
		Eventually(ctx, entered).Should(BeClosed())
		cancelled, cancel := context.WithCancel(ctx)
		cancel()

		Expect(srv.Shutdown(cancelled)).To(MatchError(context.Canceled))

		Eventually(ctx, probed).Should(Receive(HaveOccurred()), "the client sees its connection cut")
	}, SpecTimeout(specTimeout))

	It("frees the port of a server that was never started", func(ctx SpecContext) {
		srv, err := health.Listen("127.0.0.1", 0, nil)
		Expect(err).NotTo(HaveOccurred())

		Expect(srv.Shutdown(ctx)).To(Succeed())

		again, err := health.Listen("127.0.0.1", srv.Port(), nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(again.Shutdown(ctx)).To(Succeed())
	}, SpecTimeout(specTimeout))

	It("is idempotent, and Start after it does nothing", func(ctx SpecContext) {
		srv := startServer(nil)

		Expect(srv.Shutdown(ctx)).To(Succeed())
		srv.Start()

		Expect(srv.Shutdown(ctx)).To(Succeed())
		Expect(dial(ctx, srv)).To(HaveOccurred())
	}, SpecTimeout(specTimeout))

	It("is safe to call from several goroutines at once", func(ctx SpecContext) {
		srv := startServer(nil)
		results := make(chan error, 3)
		for range 3 {
			go func() {
				defer GinkgoRecover()
				results <- srv.Shutdown(ctx)
			}()
		}
		for range 3 {
			Eventually(ctx, results).Should(Receive(BeNil()))
		}
	}, SpecTimeout(specTimeout))
})
