package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// Dialer opens connections to the broker. Its fields are read-only once Dial has been called;
// Dial may be called from several goroutines, though runwire calls it from one at a time.
type Dialer struct {
	// BrokerURI is N8N_RUNNERS_TASK_BROKER_URI; only its scheme and host:port are used.
	BrokerURI string
	// RunnerID is sent as ?id=; keep it fixed for the life of the process.
	RunnerID string
	// AuthToken, when set, is exchanged for a fresh grant token before every dial.
	AuthToken string
	// GrantToken is used as given when AuthToken is empty. Grant tokens are single-use.
	GrantToken string
	// MaxPayload is the read limit for one broker message, in bytes.
	MaxPayload int64
	// PingInterval is how often the connection pings the broker; a pong missing for one
	// interval ends the connection with ErrPongTimeout.
	PingInterval time.Duration
	// HandshakeTimeout bounds one attempt from its start to broker:inforequest.
	HandshakeTimeout time.Duration
	// HTTPClient carries TLS, proxy and transport settings; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives the connection's warnings (skipped frames); nil discards them.
	Logger *slog.Logger
	// Traffic, if set, counts the bytes of every connection's messages (package metrics).
	Traffic *Traffic
}

// Renewable reports whether the dialer fetches a fresh grant token for every attempt.
func (d *Dialer) Renewable() bool { return d.AuthToken != "" }

// Dial makes one connection attempt: grant token (when renewable), WebSocket upgrade with
// Authorization: Bearer, then a wait for broker:inforequest. It returns the open Conn once
// that message has arrived; the caller answers it with runner:info.
//
// A refusal that runwire cannot fix by retrying matches ErrAuthRejected: /runners/auth
// answering 401 or 403, or, with a grant token given as is, the upgrade answering 401 or 403
// or the broker closing the connection before broker:inforequest. Every other error is
// transient. Cancelling ctx abandons the attempt.
func (d *Dialer) Dial(ctx context.Context) (*Conn, error) {
	if d.HandshakeTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.HandshakeTimeout)
		defer cancel()
	}
	endpoint, err := WebSocketURL(d.BrokerURI, d.RunnerID)
	if err != nil {
		return nil, err
	}
	token := d.GrantToken
	if d.Renewable() {
		if token, err = FetchGrantToken(ctx, d.HTTPClient, d.BrokerURI, d.AuthToken); err != nil {
			return nil, fmt.Errorf("failed to fetch a grant token: %w", err)
		}
	}
	// coder/websocket owns resp.Body: "You never need to close resp.Body yourself."
	ws, resp, err := websocket.Dial(ctx, endpoint, &websocket.DialOptions{ //nolint:bodyclose // see above
		HTTPClient: d.HTTPClient,
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			serr := &StatusError{Op: "WebSocket upgrade", StatusCode: resp.StatusCode}
			if isAuthStatus(resp.StatusCode) && !d.Renewable() {
				return nil, &authError{err: serr, hint: spentGrantHint}
			}
			return nil, fmt.Errorf("failed to connect to the broker at %s: %w", endpoint, serr)
		}
		return nil, fmt.Errorf("failed to connect to the broker: %w", err) // err names the URL
	}
	ws.SetReadLimit(d.MaxPayload)
	c := newConn(ws, d.PingInterval, d.MaxPayload, d.Logger, d.Traffic)
	if err := c.awaitInfoRequest(ctx); err != nil {
		c.Abort()
		if errors.Is(err, ErrClosedBeforeInfoRequest) && !d.Renewable() {
			return nil, &authError{err: err, hint: spentGrantHint}
		}
		return nil, err
	}
	return c, nil
}

const spentGrantHint = "grant tokens are single-use and expire within seconds, so N8N_RUNNERS_GRANT_TOKEN " +
	"cannot be used again; set N8N_RUNNERS_AUTH_TOKEN (n8n's own N8N_RUNNERS_AUTH_TOKEN) and runwire " +
	"fetches a fresh grant token for every connection"
