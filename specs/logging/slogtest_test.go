package logging_test

import (
	"bytes"
	"testing/slogtest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/logging"
)

var _ = Describe("slog handler conformance (testing/slogtest)", func() {
	It("holds for the human text format", func() {
		var buf bytes.Buffer
		logger, err := logging.New(&buf, logging.Options{Format: "text"})
		Expect(err).NotTo(HaveOccurred())

		results := func() []map[string]any {
			var ms []map[string]any
			for _, line := range lines(buf.String()) {
				m, err := parseHumanLine(line)
				Expect(err).NotTo(HaveOccurred())
				ms = append(ms, m)
			}
			return ms
		}

		Expect(slogtest.TestHandler(logger.Handler(), results)).To(Succeed())
	})
})
