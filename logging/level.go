package logging

import (
	"log/slog"
	"strings"
)

// LevelCritical is the level of Python's CRITICAL, one step above
// [slog.LevelError] in slog's spacing of four. It is a plain value and safe to
// use from any goroutine.
const LevelCritical = slog.LevelError + 4

// ParseLevel maps a Python logging level name, as n8n passes it in
// N8N_RUNNERS_LAUNCHER_LOG_LEVEL, to a slog level. The name is trimmed and
// matched without regard to case; DEBUG, INFO, WARN, WARNING, ERROR and
// CRITICAL are known. For anything else it returns [slog.LevelInfo] and
// false, leaving the fallback to the caller. ParseLevel is safe for
// concurrent use.
func ParseLevel(name string) (slog.Level, bool) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "DEBUG":
		return slog.LevelDebug, true
	case "INFO":
		return slog.LevelInfo, true
	case "WARN", "WARNING":
		return slog.LevelWarn, true
	case "ERROR":
		return slog.LevelError, true
	case "CRITICAL":
		return LevelCritical, true
	default:
		return slog.LevelInfo, false
	}
}

// levelName names l the way Python does. Levels between the named ones round
// down, so a custom slog level never prints as "INFO+2".
func levelName(l slog.Level) string {
	switch {
	case l >= LevelCritical:
		return "CRITICAL"
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	default:
		return "DEBUG"
	}
}
