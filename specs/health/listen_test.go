package health_test

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/health"
)

var _ = Describe("Listen", func() {
	It("binds an OS-assigned port when asked for port 0 and serves on it", func(ctx SpecContext) {
		srv := startServer(nil)

		Expect(srv.Host()).To(Equal("127.0.0.1"))
		Expect(srv.Port()).To(BeNumerically(">", 0))
		Expect(get(ctx, newClient(), url(srv, "/healthz")).Status).To(Equal(200))
	}, SpecTimeout(specTimeout))

	It("binds at once, so the port is taken before Start", func(ctx SpecContext) {
		srv, err := health.Listen("127.0.0.1", 0, nil)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx SpecContext) {
			Expect(srv.Shutdown(ctx)).To(Succeed())
		}, NodeTimeout(specTimeout))

		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.Port())))
		Expect(err).NotTo(HaveOccurred())
		Expect(conn.Close()).To(Succeed())
	}, SpecTimeout(specTimeout))

	It("fails on a port already in use, naming the address", func() {
		first, err := health.Listen("127.0.0.1", 0, nil)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx SpecContext) {
			Expect(first.Shutdown(ctx)).To(Succeed())
		}, NodeTimeout(specTimeout))

		second, err := health.Listen("127.0.0.1", first.Port(), nil)

		Expect(second).To(BeNil())
		Expect(err).To(MatchError(HavePrefix(
			fmt.Sprintf("failed to start health check server on 127.0.0.1:%d: ", first.Port()))))
		var opErr *net.OpError
		Expect(errors.As(err, &opErr)).To(BeTrue(), "the bind error is wrapped, not flattened")
	})
})
