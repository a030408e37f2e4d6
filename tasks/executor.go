package tasks

import (
	"context"
	"encoding/json"
)

// Executor runs the tasks of one task type ("python"). Execute is called once per task, in a
// goroutine of its own, possibly for several tasks at once.
//
// ctx is cancelled when the task is cancelled, times out, loses its connection or is cut off
// by a shutdown; Execute must then return promptly (what it returns is ignored: the manager
// reports why the task was aborted). Console output goes to console as it is produced.
//
// Execute returns the task's result as raw JSON (n8n's data.result), or an error. An *Error
// carries n8n's message and description; any other error is reported with its text as the
// message.
type Executor interface {
	Execute(ctx context.Context, task Task, console Console) (json.RawMessage, error)
}

// Availability is implemented by executors that can be unable to run tasks (no interpreter):
// the manager offers no tasks of that type while Available is false. It must not block.
type Availability interface {
	Available() bool
}

// problemer is an executor that can say why it cannot run a task now ("" when it can), in
// runwire's words, naming the setting to fix; the python executor is one. It must not block.
type problemer interface {
	Problem() string
}

// ExecutorFunc adapts a function to Executor.
type ExecutorFunc func(ctx context.Context, task Task, console Console) (json.RawMessage, error)

// Execute implements Executor.
func (f ExecutorFunc) Execute(ctx context.Context, task Task, console Console) (json.RawMessage, error) {
	return f(ctx, task, console)
}

// Task is one task handed to an executor.
type Task struct {
	ID       string
	Type     string
	Settings json.RawMessage // broker:tasksettings.settings, as n8n sent it
}

// Console forwards a task's console output to n8n, in order, before the task's result.
type Console interface {
	// Print forwards one print call: one string per argument, already formatted as n8n
	// shows them (runner:rpc logNodeOutput params). Safe for concurrent use.
	Print(args ...string)
}

// Error is a task failure as n8n reports it: runner:taskerror {error: {message,
// description}}, or, with continueOnFail, runner:taskdone [{"json": {"error": message}}].
type Error struct {
	Message string
	// Description is sent only when non-nil (n8n sends "" for some failures and nothing for
	// others).
	Description *string
	// Fatal failures are sent as runner:taskerror even with continueOnFail, as n8n does for
	// security violations, syntax errors and settings it cannot use.
	Fatal bool
}

func (e *Error) Error() string { return e.Message }

// SettingsError is the fatal error for settings an executor cannot use, naming the field.
func SettingsError(field, problem string) *Error {
	return &Error{Message: "Invalid task settings: " + field + " " + problem, Fatal: true}
}
