package support

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive,staticcheck // the DSL reads best dot-imported
	. "github.com/onsi/gomega"    //nolint:revive,staticcheck // the DSL reads best dot-imported
)

// Inbox is the broker's record of what the runner sent on one connection: every message, in
// order. Await claims them one at a time, so that each is used once. Only the spec's own
// goroutine uses an Inbox.
type Inbox struct {
	ctx     context.Context
	conn    *BrokerConn
	seen    []map[string]any
	claimed map[int]bool
}

// NewInbox records what the runner sends on c; ctx bounds every wait.
func NewInbox(ctx context.Context, c *BrokerConn) *Inbox {
	return &Inbox{ctx: ctx, conn: c, claimed: map[int]bool{}}
}

// pump moves the messages that have arrived into seen.
func (in *Inbox) pump() {
	for {
		select {
		case m := <-in.conn.Messages():
			in.seen = append(in.seen, m)
		default:
			return
		}
	}
}

// All returns every message received so far.
func (in *Inbox) All() []map[string]any {
	in.pump()
	return in.seen
}

// Dump lists what the runner sent, for failure messages.
func (in *Inbox) Dump() string {
	var sb strings.Builder
	sb.WriteString("the runner sent:\n")
	for _, m := range in.seen {
		raw, _ := json.Marshal(m)
		sb.Write(raw)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// Await waits for the first unclaimed message that matches, claims and returns it.
func (in *Inbox) Await(what string, match func(m map[string]any) bool) map[string]any {
	GinkgoHelper()
	return in.AwaitWithin(0, what, match)
}

// AwaitWithin is Await for a message that must come within d (0: as long as the spec may).
func (in *Inbox) AwaitWithin(d time.Duration, what string, match func(m map[string]any) bool) map[string]any {
	GinkgoHelper()
	var found map[string]any
	poll := Eventually(in.ctx, func() bool {
		in.pump()
		for i, m := range in.seen {
			if !in.claimed[i] && match(m) {
				in.claimed[i] = true
				found = m
				return true
			}
		}
		return false
	})
	if d > 0 {
		poll = poll.WithTimeout(d)
	}
	poll.Should(BeTrue(), func() string { return "waiting for " + what + "; " + in.Dump() })
	return found
}

// Count counts the messages received so far that match.
func (in *Inbox) Count(match func(map[string]any) bool) int {
	n := 0
	for _, m := range in.All() {
		if match(m) {
			n++
		}
	}
	return n
}

// Send sends one broker message on the connection.
func (in *Inbox) Send(m map[string]any) {
	GinkgoHelper()
	Expect(in.conn.SendJSON(in.ctx, m)).To(Succeed())
}
