package logging_test

import (
	"log/slog"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/logging"
)

var _ = Describe("Level filtering", func() {
	DescribeTable("writes records at or above the level and drops the rest",
		func(format string, terminal bool) {
			logger, out := newLogger(logging.Options{Level: slog.LevelWarn, Format: format, Terminal: terminal, NoColor: true})

			logger.Debug("debug")
			logger.Info("info")
			logger.Warn("warn")
			logger.Error("error")
			logger.With("k", "v").WithGroup("g").Info("derived info")

			Expect(logger.Enabled(ctx(), slog.LevelInfo)).To(BeFalse())
			Expect(logger.Enabled(ctx(), slog.LevelWarn)).To(BeTrue())
			Expect(logger.With("k", "v").WithGroup("g").Enabled(ctx(), slog.LevelInfo)).To(BeFalse())
			Expect(out.String()).NotTo(ContainSubstring("info"))
			Expect(out.String()).NotTo(ContainSubstring("debug"))
			Expect(out.String()).To(ContainSubstring("warn"))
			Expect(out.String()).To(ContainSubstring("error"))
			Expect(lines(out.String())).To(HaveLen(2))
		},
		Entry("bare", "auto", false),
		Entry("text", "text", true),
		Entry("json", "json", false),
	)

	It("lets only critical through at the critical level", func() {
		logger, out := newLogger(logging.Options{Level: logging.LevelCritical})

		logger.Error("error")
		logger.Log(ctx(), logging.LevelCritical, "critical")

		Expect(out.String()).To(Equal("critical\n"))
	})

	It("defaults to INFO in the zero Options", func() {
		logger, out := newLogger(logging.Options{})

		logger.Debug("debug")
		logger.Info("info")

		Expect(out.String()).To(Equal("info\n"))
	})
})
