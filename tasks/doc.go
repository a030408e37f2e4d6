// Package tasks is runwire's task handling: it takes work from n8n's broker on a registered
// connection and hands it to the executor of the task's type, with n8n's protocol and without
// the Python runner's known leaks.
//
// A [Manager] is the connection's [fsm.Handler]. While registered and not draining it keeps
// open offers + tasks = MaxConcurrency (a pass every OfferInterval and at once whenever a
// slot frees), answers broker:taskofferaccept at once, runs each task's settings through its
// [Executor] in a goroutine of its own, streams console output as runner:rpc logNodeOutput
// calls, and sends exactly one terminal message per task (runner:taskdone or
// runner:taskerror) whatever races with it: a cancel, the task timeout, the end of the
// connection or a shutdown.
//
// Task states: waiting for settings → running → (aborting) → gone. A task waiting for
// settings longer than SettingsTimeout is dropped and its slot freed. When the connection
// ends, every task on it is cancelled (the broker has already failed them) and its offers
// are forgotten. [Manager.Shutdown] stops offering, rejects accepts with "Runner is shutting
// down", lets running tasks finish until its context ends, then cancels the rest.
package tasks
