package logging_test

import (
	"log/slog"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/logging"
)

var _ = Describe("The JSON format", func() {
	It("is slog's JSON, groups nested, whatever the terminal", func() {
		logger, out := newLogger(logging.Options{Format: "json", Terminal: true})

		handle(logger.With("runner_id", "r1").WithGroup("task"), slog.LevelInfo, "Accepted task t-1", taskAttrs()...)

		Expect(out.String()).To(Equal(`{"time":"2026-11-28T16:22:51.123456789Z","level":"INFO","msg":"Accepted task t-1",` +
			`"runner_id":"r1","task":{"task_id":"t-1","size":42,"node":"Code in Python","workflow":{"id":"w9","active":true}}}` + "\n"))
	})

	It("names the critical level CRITICAL and keeps slog's other names", func() {
		logger, out := newLogger(logging.Options{Format: "json"})

		handle(logger, logging.LevelCritical, "c")
		handle(logger, slog.LevelWarn, "w")

		Expect(out.String()).To(Equal(
			`{"time":"2026-11-28T16:22:51.123456789Z","level":"CRITICAL","msg":"c"}` + "\n" +
				`{"time":"2026-11-28T16:22:51.123456789Z","level":"WARN","msg":"w"}` + "\n"))
	})

	It("leaves an attribute that happens to be called level alone", func() {
		logger, out := newLogger(logging.Options{Format: "json"})

		handle(logger.WithGroup("g"), slog.LevelInfo, "m", slog.Any("level", logging.LevelCritical))

		Expect(out.String()).To(ContainSubstring(`"g":{"level":"ERROR+4"}`))
	})
})
