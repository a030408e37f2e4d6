package logging

import "log/slog"

// timeLayout is the Python runner's "%Y-%m-%d %H:%M:%S" plus milliseconds.
const timeLayout = "2006-01-02 15:04:05.000"

const colourReset = "\x1b[0m"

// bareHeader writes nothing: the launcher adds its own time and level.
func bareHeader(buf []byte, _ slog.Record) []byte {
	return buf
}

// plainHeader writes "time  LEVEL  ".
func plainHeader(buf []byte, r slog.Record) []byte {
	return appendHumanHeader(buf, r, false)
}

// colourHeader writes "time  LEVEL  " with the level coloured.
func colourHeader(buf []byte, r slog.Record) []byte {
	return appendHumanHeader(buf, r, true)
}

// appendHumanHeader leaves the time out for a record without one, as slog
// asks of handlers.
func appendHumanHeader(buf []byte, r slog.Record, colour bool) []byte {
	if !r.Time.IsZero() {
		buf = r.Time.AppendFormat(buf, timeLayout)
		buf = append(buf, "  "...)
	}
	if colour {
		buf = append(buf, levelColour(r.Level)...)
	}
	buf = append(buf, levelName(r.Level)...)
	if colour {
		buf = append(buf, colourReset...)
	}
	return append(buf, "  "...)
}

// levelColour uses the Python runner's colours: blue, green, yellow, red.
func levelColour(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "\x1b[31m"
	case l >= slog.LevelWarn:
		return "\x1b[33m"
	case l >= slog.LevelInfo:
		return "\x1b[32m"
	default:
		return "\x1b[34m"
	}
}
