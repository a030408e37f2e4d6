package fsm

import (
	"slices"

	looplab "github.com/looplab/fsm"
)

// State is a state of the connection lifecycle.
type State string

// The states. Stopped is terminal; AuthFailed only leaves by stop.
const (
	Idle       State = "Idle"
	Connecting State = "Connecting"
	Listening  State = "Listening"
	Backoff    State = "Backoff"
	Stopped    State = "Stopped"
	AuthFailed State = "AuthFailed"
)

// Event is what moves the machine from one state to another.
type Event string

// The events.
const (
	EventStart        Event = "start"
	EventConnected    Event = "connected"
	EventDialFailed   Event = "dial_failed"
	EventAuthRejected Event = "auth_rejected"
	EventConnLost     Event = "conn_lost"
	EventRetry        Event = "retry"
	EventStop         Event = "stop"
)

// Edge is one row of the transition table: Event moves the machine from any state in From to
// To. Cause says what raises the event, for the docs.
type Edge struct {
	Event Event
	From  []State
	To    State
	Cause string
}

// edges is the transition table, the single source of truth. No edge is a self-loop.
var edges = []Edge{
	{EventStart, []State{Idle}, Connecting, "Run is called"},
	{EventConnected, []State{Connecting}, Listening, "the broker sent broker:inforequest: it accepted the runner"},
	{EventDialFailed, []State{Connecting}, Backoff, "a transient failure: network error, timeout, HTTP 429 or 5xx, a close before broker:inforequest with a fresh grant token"},
	{EventAuthRejected, []State{Connecting}, AuthFailed, "credentials runwire cannot renew were refused: /runners/auth answered 401/403, or a given grant token was refused (401/403 on the upgrade, or a close before broker:inforequest)"},
	{EventConnLost, []State{Listening}, Backoff, "the connection ended: broker close, dropped TCP, missed pong, a message over N8N_RUNNERS_MAX_PAYLOAD"},
	{EventRetry, []State{Backoff}, Connecting, "the backoff delay has passed"},
	{EventStop, []State{Idle, Connecting, Listening, Backoff, AuthFailed}, Stopped, "Stop, SIGINT/SIGTERM, the idle timeout, or Run's context cancelled"},
}

// Transitions returns the transition table. The result is a copy.
func Transitions() []Edge {
	out := make([]Edge, len(edges))
	for i, e := range edges {
		e.From = slices.Clone(e.From)
		out[i] = e
	}
	return out
}

// States returns every state, Idle first.
func States() []State {
	return []State{Idle, Connecting, Listening, Backoff, Stopped, AuthFailed}
}

// Events returns every event, in table order.
func Events() []Event {
	out := make([]Event, len(edges))
	for i, e := range edges {
		out[i] = e.Event
	}
	return out
}

// Next returns the state that ev leads to from s, and whether the table allows ev in s.
func Next(s State, ev Event) (State, bool) {
	for _, e := range edges {
		if e.Event == ev && slices.Contains(e.From, s) {
			return e.To, true
		}
	}
	return s, false
}

// Terminal reports whether s has no way out but stop (or none at all).
func (s State) Terminal() bool { return s == Stopped || s == AuthFailed }

// NewTable builds a looplab/fsm machine in state initial from the edge table, with the given
// callbacks (nil for none). Specs and the diagram use it bare; Machine adds its callbacks.
func NewTable(initial State, callbacks looplab.Callbacks) *looplab.FSM {
	events := make(looplab.Events, 0, len(edges))
	for _, e := range edges {
		src := make([]string, len(e.From))
		for i, s := range e.From {
			src[i] = string(s)
		}
		events = append(events, looplab.EventDesc{Name: string(e.Event), Src: src, Dst: string(e.To)})
	}
	if callbacks == nil {
		callbacks = looplab.Callbacks{}
	}
	return looplab.NewFSM(string(initial), events, callbacks)
}

// onEnter and onLeave name looplab callback keys from typed states, so a misspelt key (which
// looplab ignores without a word) cannot happen.
func onEnter(s State) string { return "enter_" + string(s) }
func onLeave(s State) string { return "leave_" + string(s) }
