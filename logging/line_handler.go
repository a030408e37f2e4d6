package logging

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
)

// lineHandler is the slog.Handler behind the bare and text formats: a
// header (nothing, or time and level), the message, then " key=value" for
// each attribute, on one line. Handlers derived with WithAttrs or WithGroup
// share the writer's mutex, so each record reaches the writer whole and in a
// single Write call.
type lineHandler struct {
	w      io.Writer
	mu     *sync.Mutex
	level  slog.Level
	header func(buf []byte, r slog.Record) []byte
	attrs  []byte // the " key=value" pairs added by WithAttrs, already formatted
	prefix string // "group.sub." added by WithGroup, put before record keys
}

// Enabled reports whether records at l are written.
func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level
}

// Handle formats r without the lock, then writes it under the lock.
func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	buf := make([]byte, 0, 256)
	buf = h.header(buf, r)
	buf = appendMessage(buf, r.Message)
	buf = append(buf, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		buf = appendAttr(buf, h.prefix, a)
		return true
	})
	buf = append(buf, '\n')

	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(buf)
	return err
}

// WithAttrs formats as once, under the groups opened so far.
func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	h2 := *h
	h2.attrs = slices.Clip(h.attrs) // the next append must not share h's array
	for _, a := range as {
		h2.attrs = appendAttr(h2.attrs, h.prefix, a)
	}
	return &h2
}

// WithGroup qualifies the keys of later attributes with name.
func (h *lineHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix = h.prefix + name + "."
	return &h2
}
