package health

import (
	"net/http"
	"strconv"
)

// ReadyPath is the readiness endpoint; every other path is the health check.
const ReadyPath = "/readyz"

// MetricsPath serves the metrics handler given to [Server.ServeMetrics], if any.
const MetricsPath = "/metrics"

const (
	okBody       = "OK"
	notReadyBody = "Not ready"
)

// handler answers every request without routing: a ServeMux would redirect
// or 404 some of the paths and methods the launcher may use.
type handler struct {
	ready   func() error
	metrics http.Handler // nil: MetricsPath is a health check like any other path
}

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == MetricsPath && h.metrics != nil {
		h.metrics.ServeHTTP(w, r)
		return
	}
	if r.URL.Path == ReadyPath {
		switch err := h.notReady(); {
		case err != nil:
			reply(w, http.StatusServiceUnavailable, notReadyBody+": "+err.Error())
			return
		case h.ready == nil:
			reply(w, http.StatusServiceUnavailable, notReadyBody)
			return
		}
	}
	reply(w, http.StatusOK, okBody)
}

func (h handler) notReady() error {
	if h.ready == nil {
		return nil
	}
	return h.ready()
}

// reply sets the headers explicitly so that Go neither sniffs a charset into
// the content type nor falls back to chunked encoding.
func reply(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body)) // the client went away; nothing to do
}
