package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// state is what `up` leaves for the next `up` and for `down`. It holds the runners' auth token
// and the owner's password, so the file is the user's only (0600).
type state struct {
	N8nPID      int    `json:"n8n_pid,omitempty"`
	RunwirePID  int    `json:"runwire_pid,omitempty"`
	Port        int    `json:"port,omitempty"`
	BrokerPort  int    `json:"broker_port,omitempty"`
	HealthPort  int    `json:"health_port,omitempty"`
	AuthToken   string `json:"auth_token"`
	Email       string `json:"email"`
	Password    string `json:"password"`
	WorkflowID  string `json:"workflow_id,omitempty"`
	WebhookPath string `json:"webhook_path,omitempty"`
}

func loadState(path string) (state, error) {
	var s state
	data, err := os.ReadFile(path) //nolint:gosec // G304: the demo's own state file
	if errors.Is(err, fs.ErrNotExist) {
		return state{
			AuthToken: randomHex(24),
			Email:     "demo@runwire.test",
			// n8n wants 8+ characters with a digit and an upper-case letter.
			Password: "Demo-" + randomHex(6) + "-R1",
		}, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("%s is damaged (%w); remove it to start afresh", path, err)
	}
	return s, nil
}

func (s state) save(path string) error {
	data, err := json.MarshalIndent(s, "", "  ") //nolint:gosec // G117: the file is 0600, the user's own, by design

	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// alive reports whether pid is a live process whose command line contains want, so that a
// recorded pid that the kernel has since given to another program is never signalled.
func alive(pid int, want string) bool {
	if pid <= 0 {
		return false
	}
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || !strings.Contains(string(cmdline), want) {
		return false
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// A zombie has ended; only its parent's wait is missing.
	if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	return true
}

// stopGroup sends SIGTERM to pid's process group, waits up to grace for pid to end, then
// kills the group; a signal to the demo itself (ctx) cuts the wait short the same way. It does
// nothing unless pid is alive and its command line contains want.
func stopGroup(ctx context.Context, pid int, want string, grace time.Duration) (stopped bool) {
	if !alive(pid, want) {
		return false
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	if !poll(ctx, grace, func() bool { return !alive(pid, want) }) {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	return true
}

// poll checks cond every 20 ms until it holds (true), or timeout passes or ctx ends (false).
// The processes the demo waits for are not its children (they outlive it), and n8n's log has
// nothing to wait on either, so it polls.
func poll(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return cond()
		case <-tick.C:
		}
	}
	return true
}
