package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// The values accepted in [Options.Format].
const (
	// FormatAuto picks [FormatText] on a terminal and the bare format
	// otherwise, as n8n's Python runner does.
	FormatAuto = "auto"
	// FormatText is the human format with time and level.
	FormatText = "text"
	// FormatJSON is slog's JSON format.
	FormatJSON = "json"
)

// ErrUnknownFormat is wrapped by the error [New] returns for a format it does
// not know.
var ErrUnknownFormat = errors.New("unknown log format")

// Options configures [New]. It is a plain value; copies are independent.
type Options struct {
	// Level is the least severe level written.
	Level slog.Level
	// Format is [FormatAuto], [FormatText] or [FormatJSON], matched without
	// regard to case or surrounding space. Empty means [FormatAuto].
	Format string
	// Terminal tells whether the output is a terminal (see [IsTerminal]).
	Terminal bool
	// NoColor turns ANSI colours off, as the NO_COLOR variable asks.
	NoColor bool
}

// New returns a logger that writes to w in the format o asks for. It fails
// only for an unknown o.Format, with an error wrapping [ErrUnknownFormat]
// that names the setting to fix. The logger and every logger derived from it
// are safe for concurrent use and write each record with one call to
// w.Write, holding a lock shared by all of them; w itself need not be safe
// for concurrent use unless something else writes to it too.
func New(w io.Writer, o Options) (*slog.Logger, error) {
	format := strings.ToLower(strings.TrimSpace(o.Format))
	if format == "" {
		format = FormatAuto
	}
	switch format {
	case FormatAuto:
		if o.Terminal {
			return slog.New(newHumanHandler(w, o)), nil
		}
		return slog.New(newBareHandler(w, o.Level)), nil
	case FormatText:
		return slog.New(newHumanHandler(w, o)), nil
	case FormatJSON:
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
			Level:       o.Level,
			ReplaceAttr: nameCritical,
		})), nil
	default:
		return nil, fmt.Errorf("%w %q: set RUNWIRE_LOG_FORMAT or --log-format to %s, %s or %s",
			ErrUnknownFormat, o.Format, FormatAuto, FormatText, FormatJSON)
	}
}

// newBareHandler returns the launcher-facing handler: message and attributes
// only.
func newBareHandler(w io.Writer, level slog.Level) *lineHandler {
	return &lineHandler{w: w, mu: new(sync.Mutex), level: level, header: bareHeader}
}

// newHumanHandler returns the terminal handler. Colour needs both a terminal
// and no NO_COLOR: escape codes in a file or pipe are noise.
func newHumanHandler(w io.Writer, o Options) *lineHandler {
	header := plainHeader
	if o.Terminal && !o.NoColor {
		header = colourHeader
	}
	return &lineHandler{w: w, mu: new(sync.Mutex), level: o.Level, header: header}
}

// nameCritical makes the JSON handler print [LevelCritical] as "CRITICAL"
// rather than slog's "ERROR+4"; other levels keep slog's names.
func nameCritical(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.LevelKey {
		if l, ok := a.Value.Any().(slog.Level); ok && l >= LevelCritical {
			a.Value = slog.StringValue("CRITICAL")
		}
	}
	return a
}
