package tasks

import (
	"context"
	"log/slog"
	"strings"
	"time"
)

// drain handles broker:drain: the broker is shutting down and will close the connection once
// its tasks are done. Stop offering, forget open offers, reject later accepts, let running
// tasks finish.
func (m *Manager) drain() {
	m.mu.Lock()
	if m.sess != nil {
		m.sess.draining = true
	}
	clear(m.offers)
	running := len(m.tasks)
	m.mu.Unlock()
	m.log.Info("Broker is draining: no new tasks", "running", running)
	if m.opts.OnDrain != nil {
		m.opts.OnDrain()
	}
}

// connectionLost cleans up after a connection: its offers are gone with it, and the broker
// has already failed its tasks, so they are cancelled at once and their slots freed.
func (m *Manager) connectionLost(s *session) {
	m.mu.Lock()
	if m.sess == s {
		m.sess = nil
		clear(m.offers)
	}
	m.mu.Unlock()
	if lost := m.cutOff(func(t *task) bool { return t.sess == s }, errConnLost); len(lost) > 0 {
		m.log.Warn("Connection to the broker lost with tasks in flight; they are cancelled and their results lost",
			"tasks", strings.Join(lost, ","))
	}
}

// Shutdown stops offering and makes later accepts be rejected with RejectShuttingDown, waits
// for the tasks that exist until ctx ends, then cancels the rest: a running task reports "Task
// was cancelled", one still waiting for its settings is dropped without a word (the broker has
// not handed it over). It waits for those reports and returns how many tasks it cut off.
// Shutdown is final.
func (m *Manager) Shutdown(ctx context.Context) (cancelled int) {
	m.mu.Lock()
	m.stopping = true
	clear(m.offers)
	// The broker sends a task's settings within its own 2 s window or never: a shutdown
	// need not wait longer than that for them.
	for _, t := range m.tasks {
		if t.state == waitingForSettings {
			t.settingsTimer.Reset(max(BrokerSettingsWindow-time.Since(t.accepted), 0))
		}
	}
	m.mu.Unlock()

	if m.waitTasks(ctx) {
		return 0
	}
	cancelled = len(m.cutOff(func(*task) bool { return true }, errShutdown))
	m.waitTasks(context.Background()) // executors return promptly once cancelled
	return cancelled
}

// cutOff ends the tasks that match: one waiting for its settings is dropped, a running one is
// aborted for reason (its executor's return then reports it). It returns their ids.
func (m *Manager) cutOff(match func(*task) bool, reason error) []string {
	m.mu.Lock()
	var ids []string
	var abort, dropped []*task
	for _, t := range m.tasks {
		if !match(t) {
			continue
		}
		ids = append(ids, t.id)
		if t.state == waitingForSettings {
			m.removeLocked(t)
			dropped = append(dropped, t)
		} else {
			abort = append(abort, t)
		}
	}
	m.mu.Unlock()
	for _, t := range dropped {
		m.logEnd(slog.LevelInfo, t, OutcomeCancelled, reason.Error()+" before its settings came")
		m.observeEnd(t, OutcomeCancelled)
	}
	for _, t := range abort {
		m.abortTask(t, reason)
	}
	return ids
}

// waitTasks waits until the task table is empty (true) or ctx ends (false).
func (m *Manager) waitTasks(ctx context.Context) bool {
	for {
		m.mu.Lock()
		var done chan struct{}
		for _, t := range m.tasks {
			done = t.done
			break
		}
		m.mu.Unlock()
		if done == nil {
			return true
		}
		select {
		case <-done:
		case <-ctx.Done():
			return false
		}
	}
}
