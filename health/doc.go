// Package health serves the runner's health-check and readiness endpoints.
//
// n8n's launcher finds the port in the runner's start-up line and probes
// GET /healthz; any path and any method answer 200 "OK", as the Python
// runner's bare responder does. /readyz answers 200 "OK" only while the
// caller's ready function returns nil, and 503 "Not ready: <what is missing>"
// otherwise, for orchestrators that tell liveness from readiness (a
// Kubernetes readinessProbe; /healthz is the livenessProbe). /metrics serves
// the handler given to ServeMetrics (Prometheus, package metrics), when there
// is one.
//
// The lifecycle is Listen (bind now, so the real port is known before
// anything else starts), Start (serve in one goroutine the Server owns) and
// Shutdown (stop, and wait for that goroutine).
package health
