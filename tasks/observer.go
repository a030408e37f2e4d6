package tasks

import (
	"errors"
	"time"
)

// Outcome is how a task ended, as metrics count it.
type Outcome string

// The outcomes of an accepted task, and of an accept that was refused.
const (
	OutcomeDone      Outcome = "done"
	OutcomeError     Outcome = "error" // the task failed (continue-on-fail turns it into an item, still an error)
	OutcomeTimeout   Outcome = "timeout"
	OutcomeCancelled Outcome = "cancelled" // by the broker, by a shutdown, with the connection, or before its settings came
	OutcomeRejected  Outcome = "rejected"
)

// Observer is told what happens to tasks, for metrics. Its methods are called from the
// tasks' and the connection's goroutines: they must be quick, must not block, and must be
// safe for concurrent use. Only the task type and fixed words reach it, never a task's id,
// code, data or error text.
type Observer interface {
	// TaskEnded is called once for every accepted task: how it ended, the time from its
	// accept to its terminal message, and its executor's run time (0 if it never ran).
	TaskEnded(taskType string, outcome Outcome, sinceAccept, run time.Duration)
	// TaskRejected is called for every refused accept; taskType is "unknown" when the
	// offer was not (or no longer) known.
	TaskRejected(taskType string)
}

// outcomeOf classifies a task that ran by its abort reason and its executor's error.
func outcomeOf(err, abort error) Outcome {
	switch {
	case errors.Is(abort, errTimedOut):
		return OutcomeTimeout
	case abort != nil && !errors.As(abort, new(*Error)):
		return OutcomeCancelled // cancelled, shutdown, connection lost
	case abort != nil || err != nil:
		return OutcomeError
	default:
		return OutcomeDone
	}
}
