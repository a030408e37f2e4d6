package health_test

import (
	"net/http"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("Readiness", func() {
	It("follows the ready func on every request: 503, then 200, then 503", func(ctx SpecContext) {
		var ready atomic.Bool
		srv := startServer(ready.Load)
		client := newClient()
		notReady := response{Status: http.StatusServiceUnavailable, ContentType: "text/plain", ContentLength: 9, Body: "Not ready"}
		isReady := response{Status: http.StatusOK, ContentType: "text/plain", ContentLength: 2, Body: "OK"}

		Expect(get(ctx, client, url(srv, "/readyz"))).To(Equal(notReady))

		ready.Store(true)
		Expect(get(ctx, client, url(srv, "/readyz"))).To(Equal(isReady))

		ready.Store(false)
		Expect(get(ctx, client, url(srv, "/readyz"))).To(Equal(notReady))
	}, SpecTimeout(specTimeout))

	It("is never ready with a nil ready func, while health still answers OK", func(ctx SpecContext) {
		srv := startServer(nil)
		client := newClient()

		Expect(get(ctx, client, url(srv, "/readyz")).Status).To(Equal(http.StatusServiceUnavailable))
		Expect(get(ctx, client, url(srv, "/healthz")).Status).To(Equal(http.StatusOK))
	}, SpecTimeout(specTimeout))

	It("does not let readiness affect the health check", func(ctx SpecContext) {
		srv := startServer(func() bool { return false })

		Expect(get(ctx, newClient(), url(srv, "/healthz")).Body).To(Equal("OK"))
	}, SpecTimeout(specTimeout))
})
