package transport_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/transport"
)

const secretAuth = "auth-token-never-in-errors-5c1f"

// grantServer answers POST /runners/auth with status and body, recording the request.
func grantServer(status int, body string) (*httptest.Server, *atomic.Value) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		_ = json.NewDecoder(r.Body).Decode(&req)
		got.Store(map[string]any{"method": r.Method, "path": r.URL.Path, "content_type": r.Header.Get("Content-Type"), "body": req})
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	DeferCleanup(srv.Close)
	return srv, &got
}

var _ = Describe("FetchGrantToken", func() {
	It("POSTs the auth token as JSON and returns data.token", func(ctx SpecContext) {
		srv, got := grantServer(http.StatusOK, `{"data":{"token":"`+"ab12"+`"}}`)
		token, err := transport.FetchGrantToken(ctx, srv.Client(), srv.URL, secretAuth)
		Expect(err).NotTo(HaveOccurred())
		Expect(token).To(Equal("ab12"))
		Expect(got.Load()).To(Equal(map[string]any{
			"method": "POST", "path": "/runners/auth", "content_type": "application/json",
			"body": map[string]any{"token": secretAuth},
		}))
	})

	DescribeTable("classifies the broker's answer",
		func(ctx SpecContext, status int, body string, rejected bool, want string) {
			srv, _ := grantServer(status, body)
			_, err := transport.FetchGrantToken(ctx, srv.Client(), srv.URL, secretAuth)
			Expect(err).To(HaveOccurred())
			Expect(errors.Is(err, transport.ErrAuthRejected)).To(Equal(rejected))
			Expect(err.Error()).To(ContainSubstring(want))
			Expect(err.Error()).NotTo(ContainSubstring(secretAuth))
			var se *transport.StatusError
			if status != http.StatusOK {
				Expect(errors.As(err, &se)).To(BeTrue())
				Expect(se.StatusCode).To(Equal(status))
			}
		},
		Entry("403: wrong auth token, not retried", http.StatusForbidden, `{}`, true, "set it to the value of N8N_RUNNERS_AUTH_TOKEN"),
		Entry("401", http.StatusUnauthorized, `{}`, true, "HTTP 401"),
		Entry("429: rate limited, retried", http.StatusTooManyRequests, `{"message":"Too many requests"}`, false, "HTTP 429"),
		Entry("500", http.StatusInternalServerError, ``, false, "HTTP 500"),
		Entry("400", http.StatusBadRequest, `{}`, false, "HTTP 400"),
		Entry("200 without JSON", http.StatusOK, `<html>`, false, "failed to decode"),
		Entry("200 without a token", http.StatusOK, `{"data":{}}`, false, "no data.token"),
	)

	It("is transient when nothing answers", func(ctx SpecContext) {
		srv, _ := grantServer(http.StatusOK, "")
		uri := srv.URL
		srv.Close()
		_, err := transport.FetchGrantToken(ctx, http.DefaultClient, uri, secretAuth)
		Expect(err).To(MatchError(ContainSubstring("failed to request a grant token")))
		Expect(errors.Is(err, transport.ErrAuthRejected)).To(BeFalse())
	})
})
