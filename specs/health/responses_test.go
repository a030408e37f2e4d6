package health_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("Health responses", func() {
	DescribeTable("answer any method on any path but /readyz with 200 text/plain \"OK\"",
		func(ctx SpecContext, method, path string) {
			srv := startServer(nil)

			r, err := probe(ctx, newClient(), method, url(srv, path))

			Expect(err).NotTo(HaveOccurred())
			Expect(r.Status).To(Equal(http.StatusOK))
			Expect(r.ContentType).To(Equal("text/plain"))
			Expect(r.ContentLength).To(BeEquivalentTo(2))
			if method == http.MethodHead {
				Expect(r.Body).To(BeEmpty())
			} else {
				Expect(r.Body).To(Equal("OK"))
			}
		},
		Entry("the launcher's probe", SpecTimeout(specTimeout), http.MethodGet, "/healthz"),
		Entry("the root", SpecTimeout(specTimeout), http.MethodGet, "/"),
		Entry("an unknown nested path with a query", SpecTimeout(specTimeout), http.MethodGet, "/some/where?x=1"),
		Entry("a path that only starts like /readyz", SpecTimeout(specTimeout), http.MethodGet, "/readyz/extra"),
		Entry("POST", SpecTimeout(specTimeout), http.MethodPost, "/healthz"),
		Entry("PUT", SpecTimeout(specTimeout), http.MethodPut, "/"),
		Entry("DELETE", SpecTimeout(specTimeout), http.MethodDelete, "/healthz"),
		Entry("PATCH", SpecTimeout(specTimeout), http.MethodPatch, "/x"),
		Entry("OPTIONS", SpecTimeout(specTimeout), http.MethodOptions, "/healthz"),
		Entry("HEAD", SpecTimeout(specTimeout), http.MethodHead, "/healthz"),
		Entry("a made-up method", SpecTimeout(specTimeout), "PROBE", "/healthz"),
	)

	It("puts exactly the bare responder's status line, headers and body on the wire", func(ctx SpecContext) {
		srv := startServer(nil)
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(srv.Host(), strconv.Itoa(srv.Port())))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(conn.Close)

		_, err = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
		Expect(err).NotTo(HaveOccurred())
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(resp.Body.Close)
		body, err := io.ReadAll(resp.Body)
		Expect(err).NotTo(HaveOccurred())

		Expect(resp.Proto).To(Equal("HTTP/1.1"))
		Expect(resp.Status).To(Equal("200 OK"))
		Expect(resp.Header.Get("Content-Type")).To(Equal("text/plain"))
		Expect(resp.Header.Get("Content-Length")).To(Equal("2"))
		Expect(resp.TransferEncoding).To(BeEmpty())
		Expect(string(body)).To(Equal("OK"))
	}, SpecTimeout(specTimeout))
})
