package fsm_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/fsm"
)

var _ = Describe("docs/state-machine.md", func() {
	It("is the one generated from the table (run make docs)", func() {
		committed, err := os.ReadFile(filepath.Join("..", "..", "docs", "state-machine.md"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(committed)).To(Equal(fsm.Markdown()))
	})

	It("draws every edge and starts at Idle", func() {
		diagram := fsm.Mermaid()
		Expect(diagram).To(HavePrefix("stateDiagram-v2\n    [*] --> Idle\n"))
		for _, e := range fsm.Transitions() {
			for _, from := range e.From {
				Expect(diagram).To(ContainSubstring(string(from) + " --> " + string(e.To) + ": " + string(e.Event)))
			}
		}
	})
})
