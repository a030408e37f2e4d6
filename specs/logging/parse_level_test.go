package logging_test

import (
	"log/slog"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/logging"
)

var _ = Describe("ParseLevel", func() {
	It("puts CRITICAL one slog step above ERROR", func() {
		Expect(logging.LevelCritical).To(Equal(slog.LevelError + 4))
	})

	DescribeTable("knows Python's level names, trimmed and in any case",
		func(name string, want slog.Level) {
			got, ok := logging.ParseLevel(name)

			Expect(ok).To(BeTrue())
			Expect(got).To(Equal(want))
		},
		Entry("DEBUG", "DEBUG", slog.LevelDebug),
		Entry("INFO", "INFO", slog.LevelInfo),
		Entry("WARN", "WARN", slog.LevelWarn),
		Entry("WARNING", "WARNING", slog.LevelWarn),
		Entry("ERROR", "ERROR", slog.LevelError),
		Entry("CRITICAL", "CRITICAL", logging.LevelCritical),
		Entry("lower case", "debug", slog.LevelDebug),
		Entry("mixed case", "Warning", slog.LevelWarn),
		Entry("surrounding space", "  error\t\n", slog.LevelError),
		Entry("mixed case and space", " cRiTiCaL ", logging.LevelCritical),
	)

	DescribeTable("refuses anything else",
		func(name string) {
			_, ok := logging.ParseLevel(name)

			Expect(ok).To(BeFalse())
		},
		Entry("empty", ""),
		Entry("blank", "   "),
		Entry("a typo", "WARNNG"),
		Entry("Python's FATAL alias", "FATAL"),
		Entry("Python's NOTSET", "NOTSET"),
		Entry("TRACE", "TRACE"),
		Entry("a number", "20"),
		Entry("slog's offset syntax", "INFO+2"),
		Entry("an inner space", "WARN ING"),
	)
})
