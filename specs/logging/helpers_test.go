package logging_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"time"

	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/logging"
)

const specTimeout = 5 * time.Second

// at is the fixed time of every record whose time shows in the output.
var at = time.Date(2026, time.November, 28, 16, 22, 51, 123456789, time.UTC)

// newLogger builds a logger over a fresh buffer and fails the spec if New does.
func newLogger(o logging.Options) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	l, err := logging.New(&buf, o)
	Expect(err).NotTo(HaveOccurred())
	return l, &buf
}

// handle sends a record with the fixed time straight to l's handler, the way
// slog.Logger would after checking Enabled.
func handle(l *slog.Logger, level slog.Level, msg string, attrs ...slog.Attr) {
	ctx := context.Background()
	if !l.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(at, level, msg, 0)
	r.AddAttrs(attrs...)
	Expect(l.Handler().Handle(ctx, r)).To(Succeed())
}

// writeRecorder keeps every Write call apart. It is deliberately not
// synchronised: the handler's lock is what must protect it, and the race
// detector says so if it does not.
type writeRecorder struct {
	writes []string
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

// taskAttrs is a record's worth of attributes: plain, needing quotes, and a
// group.
func taskAttrs() []slog.Attr {
	return []slog.Attr{
		slog.String("task_id", "t-1"),
		slog.Int("size", 42),
		slog.String("node", "Code in Python"),
		slog.Group("workflow", slog.String("id", "w9"), slog.Bool("active", true)),
	}
}

func ctx() context.Context { return context.Background() }

// lines splits output into its lines, dropping the final newline.
func lines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
