package logging_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/logging"
)

var _ = Describe("Concurrent logging", func() {
	const (
		workers = 32
		records = 200
	)

	DescribeTable("writes every record as one whole line in one Write call",
		func(ctx SpecContext, format string, terminal bool, line *regexp.Regexp) {
			w := &writeRecorder{}
			logger, err := logging.New(w, logging.Options{Format: format, Terminal: terminal})
			Expect(err).NotTo(HaveOccurred())

			var wg sync.WaitGroup
			for i := range workers {
				// Each worker has its own derived handler; they must share one lock.
				l := logger.With("worker", i).WithGroup("task")
				wg.Go(func() {
					defer GinkgoRecover()
					for j := range records {
						l.Info("Completed task", "n", j, "node", "Code in Python", slog.Group("size", "bytes", 1024))
					}
				})
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				wg.Wait()
			}()
			Eventually(ctx, done).Should(BeClosed())

			Expect(w.writes).To(HaveLen(workers * records))
			seen := map[string]bool{}
			for _, write := range w.writes {
				m := line.FindStringSubmatch(write)
				Expect(m).NotTo(BeNil(), "a torn or merged write: %q", write)
				seen[m[1]+"/"+m[2]] = true
			}
			Expect(seen).To(HaveLen(workers*records), "every record arrives exactly once")
		},
		Entry("bare", SpecTimeout(specTimeout), "auto", false,
			regexp.MustCompile(`^Completed task worker=(\d+) task\.n=(\d+) task\.node="Code in Python" task\.size\.bytes=1024\n$`)),
		Entry("text", SpecTimeout(specTimeout), "text", true,
			regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}  \x1b\[32mINFO\x1b\[0m  Completed task worker=(\d+) task\.n=(\d+) task\.node="Code in Python" task\.size\.bytes=1024\n$`)),
		Entry("json", SpecTimeout(specTimeout), "json", false,
			regexp.MustCompile(`^\{"time":"[^"]+","level":"INFO","msg":"Completed task","worker":(\d+),"task":\{"n":(\d+),"node":"Code in Python","size":\{"bytes":1024\}\}\}\n$`)),
	)

	It("keeps JSON lines valid under contention", func(ctx SpecContext) {
		w := &writeRecorder{}
		logger, err := logging.New(w, logging.Options{Format: "json"})
		Expect(err).NotTo(HaveOccurred())

		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				for j := range records {
					logger.Warn(fmt.Sprintf("message %d/%d with \"quotes\"\nand a newline", i, j))
				}
			})
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			wg.Wait()
		}()
		Eventually(ctx, done).Should(BeClosed())

		Expect(w.writes).To(HaveLen(workers * records))
		for _, write := range w.writes {
			var v map[string]any
			Expect(json.Unmarshal([]byte(write), &v)).To(Succeed(), "%q", write)
		}
	}, SpecTimeout(specTimeout))
})
