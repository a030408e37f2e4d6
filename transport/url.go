package transport

import (
	"errors"
	"fmt"
	"net/url"
)

// webSocketPath and authPath are fixed: n8n's runners ignore N8N_RUNNERS_PATH and any path
// in the broker URI, and so does runwire.
const (
	webSocketPath = "/runners/_ws"
	authPath      = "/runners/auth"
)

// brokerBase parses the broker URI and returns its scheme family (secure or not) and host.
func brokerBase(brokerURI string) (secure bool, host string, err error) {
	u, err := url.Parse(brokerURI)
	if err != nil {
		return false, "", fmt.Errorf("invalid broker URI: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
	case "https", "wss":
		secure = true
	default:
		return false, "", fmt.Errorf("invalid broker URI: scheme %q is not http, https, ws or wss", u.Scheme)
	}
	if u.Host == "" {
		return false, "", errors.New("invalid broker URI: no host")
	}
	return secure, u.Host, nil
}

// WebSocketURL is the runner endpoint for brokerURI: ws for http and ws, wss for https and
// wss (n8n's own runners always use ws and so drop TLS; runwire keeps it).
func WebSocketURL(brokerURI, runnerID string) (string, error) {
	secure, host, err := brokerBase(brokerURI)
	if err != nil {
		return "", err
	}
	u := url.URL{Scheme: "ws", Host: host, Path: webSocketPath, RawQuery: url.Values{"id": {runnerID}}.Encode()}
	if secure {
		u.Scheme = "wss"
	}
	return u.String(), nil
}

// AuthURL is the grant-token endpoint for brokerURI.
func AuthURL(brokerURI string) (string, error) {
	secure, host, err := brokerBase(brokerURI)
	if err != nil {
		return "", err
	}
	u := url.URL{Scheme: "http", Host: host, Path: authPath}
	if secure {
		u.Scheme = "https"
	}
	return u.String(), nil
}
