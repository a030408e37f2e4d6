package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxGrantResponse bounds how much of the /runners/auth answer is read.
const maxGrantResponse = 64 << 10

// FetchGrantToken exchanges the broker's auth token for a fresh single-use grant token:
// POST <broker>/runners/auth {"token": authToken} → {"data": {"token": grant}}.
//
// HTTP 401 or 403 means the auth token itself is wrong; the error then matches
// ErrAuthRejected. Any other failure (network, 429, 5xx, an unreadable answer) is transient.
// Neither token ever appears in an error.
func FetchGrantToken(ctx context.Context, client *http.Client, brokerURI, authToken string) (string, error) {
	endpoint, err := AuthURL(brokerURI)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(map[string]string{"token": authToken})
	if err != nil {
		return "", fmt.Errorf("failed to encode the grant token request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("failed to build the grant token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("failed to request a grant token: %w", err) // err names the URL
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxGrantResponse))
	if err != nil {
		return "", fmt.Errorf("failed to read the grant token answer from %s: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		serr := &StatusError{Op: "grant token request", StatusCode: resp.StatusCode}
		if isAuthStatus(resp.StatusCode) {
			return "", &authError{err: serr, hint: "the broker refused N8N_RUNNERS_AUTH_TOKEN; set it to the value of N8N_RUNNERS_AUTH_TOKEN in n8n's own environment"}
		}
		return "", serr
	}
	var answer struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return "", fmt.Errorf("failed to decode the grant token answer from %s: %w", endpoint, err)
	}
	if answer.Data.Token == "" {
		return "", errors.New("grant token answer from " + endpoint + " has no data.token")
	}
	return answer.Data.Token, nil
}
