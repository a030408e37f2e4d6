package fsm_test

import (
	"context"
	"errors"
	"fmt"

	looplab "github.com/looplab/fsm"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/fsm"
)

// expected is written out by hand, independently of fsm.Transitions, so that a change to the
// table has to be made twice, on purpose.
var expected = map[fsm.State]map[fsm.Event]fsm.State{
	fsm.Idle:       {fsm.EventStart: fsm.Connecting, fsm.EventStop: fsm.Stopped},
	fsm.Connecting: {fsm.EventConnected: fsm.Listening, fsm.EventDialFailed: fsm.Backoff, fsm.EventAuthRejected: fsm.AuthFailed, fsm.EventStop: fsm.Stopped},
	fsm.Listening:  {fsm.EventConnLost: fsm.Backoff, fsm.EventStop: fsm.Stopped},
	fsm.Backoff:    {fsm.EventRetry: fsm.Connecting, fsm.EventStop: fsm.Stopped},
	fsm.AuthFailed: {fsm.EventStop: fsm.Stopped},
	fsm.Stopped:    {},
}

// pairs generates one entry per (state, event): 6 × 7.
func pairs() []TableEntry {
	var entries []TableEntry
	for _, s := range fsm.States() {
		for _, ev := range fsm.Events() {
			entries = append(entries, Entry(fmt.Sprintf("%s --%s-->", s, ev), s, ev))
		}
	}
	return entries
}

var _ = Describe("The transition table", func() {
	It("has 6 states and 7 events", func() {
		Expect(fsm.States()).To(HaveLen(6))
		Expect(fsm.Events()).To(HaveLen(7))
		Expect(pairs()).To(HaveLen(42))
	})

	DescribeTable("every (state, event) pair",
		func(s fsm.State, ev fsm.Event) {
			m := fsm.NewTable(s, nil)
			err := m.Event(context.Background(), string(ev))
			want, allowed := expected[s][ev]
			if allowed {
				Expect(err).NotTo(HaveOccurred())
				Expect(m.Current()).To(Equal(string(want)))
				next, ok := fsm.Next(s, ev)
				Expect(ok).To(BeTrue())
				Expect(next).To(Equal(want))
				return
			}
			var invalid looplab.InvalidEventError
			Expect(errors.As(err, &invalid)).To(BeTrue(), "want InvalidEventError, got %v", err)
			Expect(m.Current()).To(Equal(string(s)))
			_, ok := fsm.Next(s, ev)
			Expect(ok).To(BeFalse())
		},
		pairs(),
	)

	It("has no self-loops", func() {
		for _, e := range fsm.Transitions() {
			Expect(e.From).NotTo(ContainElement(e.To), "edge %s", e.Event)
		}
	})

	It("lets nothing out of Stopped and only stop out of AuthFailed", func() {
		for _, e := range fsm.Transitions() {
			Expect(e.From).NotTo(ContainElement(fsm.Stopped))
			if e.Event != fsm.EventStop {
				Expect(e.From).NotTo(ContainElement(fsm.AuthFailed))
			}
		}
	})

	It("reaches every state from Idle", func() {
		seen := map[fsm.State]bool{fsm.Idle: true}
		frontier := []fsm.State{fsm.Idle}
		for len(frontier) > 0 {
			s := frontier[0]
			frontier = frontier[1:]
			for _, ev := range fsm.Events() {
				if next, ok := fsm.Next(s, ev); ok && !seen[next] {
					seen[next] = true
					frontier = append(frontier, next)
				}
			}
		}
		Expect(seen).To(HaveLen(len(fsm.States())))
	})

	It("hands out copies", func() {
		t := fsm.Transitions()
		t[0].From[0] = fsm.Stopped
		Expect(fsm.Transitions()[0].From[0]).To(Equal(fsm.Idle))
	})
})
