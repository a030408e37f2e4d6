package transport

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrAuthRejected marks a dial failure that retrying cannot fix: the broker refused the
// credentials runwire has and runwire cannot renew them. Every other dial error is transient.
var ErrAuthRejected = errors.New("broker rejected the runner's credentials")

// ErrClosedBeforeInfoRequest means the broker closed the connection after the upgrade but
// before it sent broker:inforequest, which is how brokers before n8n 2.x refuse a grant token
// and how a rate-limited or restarting broker looks.
var ErrClosedBeforeInfoRequest = errors.New("broker closed the connection before it sent broker:inforequest")

// ErrPongTimeout means a ping sent to the broker was not answered within one ping interval.
var ErrPongTimeout = errors.New("broker did not answer a ping in time")

// ErrMessageTooBig means the broker sent a message larger than the read limit
// (N8N_RUNNERS_MAX_PAYLOAD).
var ErrMessageTooBig = errors.New("broker message exceeds N8N_RUNNERS_MAX_PAYLOAD")

// StatusError is an HTTP answer other than the one expected: from POST /runners/auth, or
// instead of 101 Switching Protocols on the WebSocket upgrade.
type StatusError struct {
	Op         string // "grant token request" or "WebSocket upgrade"
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s answered HTTP %d %s", e.Op, e.StatusCode, http.StatusText(e.StatusCode))
}

// authError wraps a refusal with ErrAuthRejected and a hint that names the fix.
type authError struct {
	err  error
	hint string
}

func (e *authError) Error() string {
	if e.hint == "" {
		return e.err.Error()
	}
	return e.err.Error() + ": " + e.hint
}

func (e *authError) Unwrap() []error { return []error{ErrAuthRejected, e.err} }

func isAuthStatus(code int) bool {
	return code == http.StatusUnauthorized || code == http.StatusForbidden
}
