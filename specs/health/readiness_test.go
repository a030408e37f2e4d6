package health_test

import (
	"errors"
	"net/http"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("Readiness", func() {
	It("follows the ready func on every request: 503 naming what is missing, then 200, then 503", func(ctx SpecContext) {
		var missing atomic.Pointer[string]
		srv := startServer(func() error {
			if m := missing.Load(); m != nil {
				return errors.New(*m)
			}
			return nil
		})
		client := newClient()
		reason := "python: Python is starting"
		body := "Not ready: " + reason
		notReady := response{Status: http.StatusServiceUnavailable, ContentType: "text/plain", ContentLength: int64(len(body)), Body: body}
		isReady := response{Status: http.StatusOK, ContentType: "text/plain", ContentLength: 2, Body: "OK"}

		missing.Store(&reason)
		Expect(get(ctx, client, url(srv, "/readyz"))).To(Equal(notReady))

		missing.Store(nil)
		Expect(get(ctx, client, url(srv, "/readyz"))).To(Equal(isReady))

		missing.Store(&reason)
		Expect(get(ctx, client, url(srv, "/readyz"))).To(Equal(notReady))
	}, SpecTimeout(specTimeout))

	It("is never ready with a nil ready func, while health still answers OK", func(ctx SpecContext) {
		srv := startServer(nil)
		client := newClient()

		Expect(get(ctx, client, url(srv, "/readyz")).Status).To(Equal(http.StatusServiceUnavailable))
		Expect(get(ctx, client, url(srv, "/healthz")).Status).To(Equal(http.StatusOK))
	}, SpecTimeout(specTimeout))

	It("does not let readiness affect the health check", func(ctx SpecContext) {
		srv := startServer(func() error { return errors.New("not registered with the broker") })

		Expect(get(ctx, newClient(), url(srv, "/healthz")).Body).To(Equal("OK"))
	}, SpecTimeout(specTimeout))
})
