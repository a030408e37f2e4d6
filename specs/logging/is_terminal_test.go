package logging_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/logging"
)

var _ = Describe("IsTerminal", func() {
	It("says no for a regular file", func() {
		f, err := os.Create(filepath.Join(GinkgoT().TempDir(), "log"))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(f.Close)

		Expect(logging.IsTerminal(f)).To(BeFalse())
	})

	It("says no for a pipe, which is how n8n's launcher runs the runner", func() {
		r, w, err := os.Pipe()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(r.Close)
		DeferCleanup(w.Close)

		Expect(logging.IsTerminal(w)).To(BeFalse())
	})

	It("says no for a nil or closed file", func() {
		f, err := os.Create(filepath.Join(GinkgoT().TempDir(), "log"))
		Expect(err).NotTo(HaveOccurred())
		Expect(f.Close()).To(Succeed())

		Expect(logging.IsTerminal(nil)).To(BeFalse())
		Expect(logging.IsTerminal(f)).To(BeFalse())
	})

	It("says yes for a character device (and so, by design, for /dev/null too)", func() {
		f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(f.Close)

		Expect(logging.IsTerminal(f)).To(BeTrue())
	})
})
