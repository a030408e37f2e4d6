package logging_test

import (
	"log/slog"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/logging"
)

var _ = Describe("The human text format", func() {
	It("prints date, time with milliseconds, level and message, two spaces apart, then the attributes", func() {
		logger, out := newLogger(logging.Options{Format: "text"})

		handle(logger.With("runner_id", "r1").WithGroup("task"), slog.LevelInfo, "Accepted task t-1", taskAttrs()...)

		Expect(out.String()).To(Equal("2026-11-28 16:22:51.123  INFO  Accepted task t-1 runner_id=r1 " +
			`task.task_id=t-1 task.size=42 task.node="Code in Python" task.workflow.id=w9 task.workflow.active=true` + "\n"))
	})

	It("prints the time in the record's own location", func() {
		logger, out := newLogger(logging.Options{Format: "text"})
		r := slog.NewRecord(at.In(time.FixedZone("CET", 3600)), slog.LevelInfo, "m", 0)

		Expect(logger.Handler().Handle(ctx(), r)).To(Succeed())

		Expect(out.String()).To(Equal("2026-11-28 17:22:51.123  INFO  m\n"))
	})

	It("leaves the time out of a record that has none", func() {
		logger, out := newLogger(logging.Options{Format: "text"})

		Expect(logger.Handler().Handle(ctx(), slog.NewRecord(time.Time{}, slog.LevelWarn, "m", 0))).To(Succeed())

		Expect(out.String()).To(Equal("WARNING  m\n"))
	})

	DescribeTable("names and colours levels as n8n's Python runner does",
		func(level slog.Level, plain, coloured string) {
			plainLogger, plainOut := newLogger(logging.Options{Level: slog.LevelDebug - 8, Format: "text", Terminal: true, NoColor: true})
			colourLogger, colourOut := newLogger(logging.Options{Level: slog.LevelDebug - 8, Format: "text", Terminal: true})

			handle(plainLogger, level, "m")
			handle(colourLogger, level, "m")

			Expect(plainOut.String()).To(Equal("2026-11-28 16:22:51.123  " + plain + "  m\n"))
			Expect(colourOut.String()).To(Equal("2026-11-28 16:22:51.123  " + coloured + "  m\n"))
		},
		Entry("debug in blue", slog.LevelDebug, "DEBUG", "\x1b[34mDEBUG\x1b[0m"),
		Entry("info in green", slog.LevelInfo, "INFO", "\x1b[32mINFO\x1b[0m"),
		Entry("warn as WARNING in yellow", slog.LevelWarn, "WARNING", "\x1b[33mWARNING\x1b[0m"),
		Entry("error in red", slog.LevelError, "ERROR", "\x1b[31mERROR\x1b[0m"),
		Entry("critical in red", logging.LevelCritical, "CRITICAL", "\x1b[31mCRITICAL\x1b[0m"),
		Entry("a level between names, rounded down", slog.LevelInfo+2, "INFO", "\x1b[32mINFO\x1b[0m"),
		Entry("below debug, as debug", slog.LevelDebug-4, "DEBUG", "\x1b[34mDEBUG\x1b[0m"),
		Entry("above critical, as critical", logging.LevelCritical+4, "CRITICAL", "\x1b[31mCRITICAL\x1b[0m"),
	)

	It("does not colour output that is not a terminal, even when asked for text", func() {
		logger, out := newLogger(logging.Options{Format: "text", Terminal: false})

		handle(logger, slog.LevelError, "m")

		Expect(out.String()).To(Equal("2026-11-28 16:22:51.123  ERROR  m\n"))
	})

	It("is what auto picks on a terminal", func() {
		logger, out := newLogger(logging.Options{Format: "auto", Terminal: true, NoColor: true})

		handle(logger, slog.LevelInfo, "m", slog.String("k", "v"))

		Expect(out.String()).To(Equal("2026-11-28 16:22:51.123  INFO  m k=v\n"))
	})

	It("keeps a message with line breaks on one line", func() {
		logger, out := newLogger(logging.Options{Format: "text"})

		handle(logger, slog.LevelInfo, "a\nb")

		Expect(out.String()).To(Equal("2026-11-28 16:22:51.123  INFO  a\\nb\n"))
	})
})
