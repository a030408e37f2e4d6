// Package metrics is runwire's Prometheus exposition at /metrics on the health-check server
// (RUNWIRE_METRICS, on by default): tasks by type and outcome, their durations, offers and
// running tasks, the broker connection's state, reconnects and auth failures, bytes in and
// out, and the Python executor's state, restarts, pool and zygote memory.
//
// Counters of events are fed by the hooks the other packages offer (tasks.Observer,
// fsm.Options.OnChange); everything else is read at scrape time from its owner (the task
// manager, the machine, the executor, transport.Traffic), so nothing here keeps state of its
// own that could drift. Labels are fixed words and task types only: never a task's id,
// code, data, error text or any secret.
package metrics
