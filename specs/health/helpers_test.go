package health_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/health"
)

const specTimeout = 5 * time.Second

// startServer listens on a free loopback port, starts serving and shuts the
// server down at cleanup.
func startServer(ready func() error) *health.Server {
	srv, err := health.Listen("127.0.0.1", 0, ready)
	Expect(err).NotTo(HaveOccurred())
	srv.Start()
	DeferCleanup(func(ctx SpecContext) {
		Expect(srv.Shutdown(ctx)).To(Succeed())
	}, NodeTimeout(specTimeout))
	return srv
}

// newClient returns a client whose connections are closed at cleanup, so
// that its goroutines do not count as leaks.
func newClient() *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	DeferCleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func url(srv *health.Server, path string) string {
	return fmt.Sprintf("http://%s:%d%s", srv.Host(), srv.Port(), path)
}

// response is what a probe saw.
type response struct {
	Status        int
	ContentType   string
	ContentLength int64
	Body          string
}

func probe(ctx context.Context, client *http.Client, method, target string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return response{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	body, err := io.ReadAll(resp.Body)
	if closeErr := resp.Body.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return response{}, err
	}
	return response{
		Status:        resp.StatusCode,
		ContentType:   resp.Header.Get("Content-Type"),
		ContentLength: resp.ContentLength,
		Body:          string(body),
	}, nil
}

// get probes with GET and fails the spec on a transport error.
func get(ctx context.Context, client *http.Client, target string) response {
	r, err := probe(ctx, client, http.MethodGet, target)
	Expect(err).NotTo(HaveOccurred())
	return r
}
