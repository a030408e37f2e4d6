// Package logging builds the runner's [log/slog] logger.
//
// Three formats are offered, matching what n8n's Python task runner prints
// on stdout:
//
//   - bare: one line per record holding the message and its attributes,
//     with no time and no level, because n8n's launcher prefixes every line
//     it forwards with its own timestamp and level;
//   - text: "2006-01-02 15:04:05.000  LEVEL  message key=value" for a
//     person at a terminal, the level coloured unless colour is off;
//   - json: slog's own JSON lines.
//
// Format "auto" picks bare when the output is not a terminal and text when
// it is, which is what the Python runner does. Every handler built here is
// safe for concurrent use and hands each record to the writer in a single
// Write call, so lines from different goroutines never interleave.
package logging
