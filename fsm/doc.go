// Package fsm is runwire's connection lifecycle: one explicit finite state machine that
// connects to n8n's task broker, listens, backs off after failures and stops.
//
// The edge table in table.go is the single source of truth. The looplab/fsm machine, the
// callbacks, the specs' tables and docs/state-machine.md are all derived from it:
//
//	Idle --start--> Connecting --connected--> Listening --conn_lost--> Backoff --retry--> Connecting
//	Connecting --dial_failed--> Backoff, Connecting --auth_rejected--> AuthFailed
//	Idle, Connecting, Listening, Backoff, AuthFailed --stop--> Stopped
//
// # Concurrency
//
// One goroutine owns the machine: the one running [Machine.Run]. It is the only caller of
// looplab's Event, always with a context that cannot be cancelled (a cancelled one wedges
// looplab/fsm for good). The dialer, the connection's listener, the backoff and idle timers
// and [Machine.Stop] post to it; each post carries the epoch of the state instance that made
// it, and posts from an abandoned state instance are dropped. When no Run is in progress
// (before it, or after AuthFailed), Stop takes ownership for its one transition.
//
// enter_<state> callbacks start that state's work in an owned goroutine and return at once;
// leave_<state> callbacks cancel it. Run returns only after every goroutine it started has
// ended.
package fsm
