package tasks

import (
	"context"
	"log/slog"
	"time"
)

// logEnd writes a task's one line, at INFO unless the end is one an operator must look at
// (level), when it has ended: "Task <outcome>" with the task's id, the node and workflow
// names its settings carry (absent before the settings came), the time since its accept, and
// for some ends runwire's own reason. Never the code, the items, an error's text (those are
// the user's, and may hold anything) or anything of the broker's beyond the ids and names.
func (m *Manager) logEnd(level slog.Level, t *task, outcome Outcome, reason string) {
	attrs := make([]slog.Attr, 0, 6)
	attrs = append(attrs, slog.String("task_id", t.id), slog.String("outcome", string(outcome)))
	if t.meta.NodeName != "" {
		attrs = append(attrs, slog.String("node", t.meta.NodeName))
	}
	if t.meta.WorkflowName != "" {
		attrs = append(attrs, slog.String("workflow", t.meta.WorkflowName))
	}
	attrs = append(attrs, slog.String("duration", roundDuration(time.Since(t.accepted)).String()))
	if reason != "" {
		attrs = append(attrs, slog.String("reason", reason))
	}
	m.log.LogAttrs(context.Background(), level, "Task "+string(outcome), attrs...)
}

// logRejected is a refused accept's line: no node or workflow (no settings came), no duration.
func (m *Manager) logRejected(taskID, reason string) {
	m.log.LogAttrs(context.Background(), slog.LevelInfo, "Task "+string(OutcomeRejected),
		slog.String("task_id", taskID), slog.String("outcome", string(OutcomeRejected)), slog.String("reason", reason))
}

// roundDuration keeps three significant digits or so, which is what a person reads.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < 10*time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d < time.Second:
		return d.Round(100 * time.Microsecond)
	default:
		return d.Round(time.Millisecond)
	}
}
