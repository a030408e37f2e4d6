package logging_test

import (
	"bytes"
	"log/slog"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/logging"
)

var _ = Describe("New", func() {
	DescribeTable("picks the format",
		func(format string, terminal bool, want string) {
			logger, out := newLogger(logging.Options{Format: format, Terminal: terminal, NoColor: true})

			handle(logger, slog.LevelInfo, "m")

			Expect(out.String()).To(Equal(want))
		},
		Entry("auto, not a terminal: bare", "auto", false, "m\n"),
		Entry("auto, a terminal: text", "auto", true, "2026-11-28 16:22:51.123  INFO  m\n"),
		Entry("empty means auto", "", false, "m\n"),
		Entry("empty on a terminal means auto", "", true, "2026-11-28 16:22:51.123  INFO  m\n"),
		Entry("text off a terminal", "text", false, "2026-11-28 16:22:51.123  INFO  m\n"),
		Entry("json", "json", false, `{"time":"2026-11-28T16:22:51.123456789Z","level":"INFO","msg":"m"}`+"\n"),
		Entry("any case and space", " JSON ", true, `{"time":"2026-11-28T16:22:51.123456789Z","level":"INFO","msg":"m"}`+"\n"),
	)

	It("refuses an unknown format, naming both settings and the allowed values", func() {
		var buf bytes.Buffer

		logger, err := logging.New(&buf, logging.Options{Format: "xml"})

		Expect(logger).To(BeNil())
		Expect(err).To(MatchError(logging.ErrUnknownFormat))
		Expect(err).To(MatchError(`unknown log format "xml": set RUNWIRE_LOG_FORMAT or --log-format to auto, text or json`))
		Expect(buf.Len()).To(BeZero())
	})

	It("exports the format names it accepts", func() {
		Expect([]string{logging.FormatAuto, logging.FormatText, logging.FormatJSON}).To(Equal([]string{"auto", "text", "json"}))
	})
})
