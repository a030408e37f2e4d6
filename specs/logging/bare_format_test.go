package logging_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/logging"
)

// tokenValuer is resolved by the handler, never printed as itself.
type tokenValuer struct{}

func (tokenValuer) LogValue() slog.Value { return slog.StringValue("resolved") }

var _ = Describe("The bare format", func() {
	var (
		logger *slog.Logger
		out    *bytes.Buffer
	)
	BeforeEach(func() {
		logger, out = newLogger(logging.Options{Level: slog.LevelDebug, Format: "auto", Terminal: false})
	})

	It("prints only the message, which is what tooling parses", func() {
		logger.Info("Health check server listening on 127.0.0.1, port 5681")

		Expect(out.String()).To(Equal("Health check server listening on 127.0.0.1, port 5681\n"))
	})

	It("prints no time and no level, at any level", func() {
		logger.Debug("d")
		logger.Warn("w")
		logger.Log(context.Background(), logging.LevelCritical, "c")

		Expect(out.String()).To(Equal("d\nw\nc\n"))
	})

	It("appends attributes as key=value, groups as group.key", func() {
		handle(logger, slog.LevelInfo, "Accepted task t-1", taskAttrs()...)

		Expect(out.String()).To(Equal(
			`Accepted task t-1 task_id=t-1 size=42 node="Code in Python" workflow.id=w9 workflow.active=true` + "\n"))
	})

	It("honours With and WithGroup, in order and nested", func() {
		logger.With("runner_id", "r1").
			WithGroup("task").With("id", "t-1").
			WithGroup("node").Info("Completed", "name", "Code", slog.Group("pos", "x", 1))

		Expect(out.String()).To(Equal("Completed runner_id=r1 task.id=t-1 task.node.name=Code task.node.pos.x=1\n"))
	})

	It("leaves out empty attributes, empty groups and groups with nothing in them", func() {
		logger.WithGroup("unused").With().Info("m", slog.Attr{}, slog.Group("empty"), "k", "v")
		logger.WithGroup("g").Info("n")

		Expect(out.String()).To(Equal("m unused.k=v\nn\n"))
	})

	It("inlines a group with no key and resolves LogValuers", func() {
		logger.Info("m", slog.Group("", "a", "b"), "token", tokenValuer{})

		Expect(out.String()).To(Equal("m a=b token=resolved\n"))
	})

	DescribeTable("quotes a value only when it is empty or holds a space, a quote, '=' or a control character",
		func(value any, want string) {
			logger.Info("m", "k", value)

			Expect(out.String()).To(Equal("m k=" + want + "\n"))
		},
		Entry("a plain word", "plain", "plain"),
		Entry("a path with punctuation", "/data/n8n:5679?x,y", "/data/n8n:5679?x,y"),
		Entry("non-ASCII letters", "grüße", "grüße"),
		Entry("a backslash", `C:\tmp`, `C:\tmp`),
		Entry("the empty string", "", `""`),
		Entry("a space", "two words", `"two words"`),
		Entry("a double quote", `say "hi"`, `"say \"hi\""`),
		Entry("an equals sign", "a=b", `"a=b"`),
		Entry("a newline", "line\nbreak", `"line\nbreak"`),
		Entry("a tab", "a\tb", `"a\tb"`),
		Entry("an escape character", "\x1b[31m", `"\x1b[31m"`),
		Entry("a non-breaking space", "a\u00a0b", `"a\u00a0b"`),
		Entry("invalid UTF-8", "a\xffb", `"a\xffb"`),
		Entry("an error", errors.New("dial tcp: connection refused"), `"dial tcp: connection refused"`),
		Entry("a duration", 1500*time.Millisecond, "1.5s"),
		Entry("a float", 2.5, "2.5"),
		Entry("a bool", false, "false"),
		Entry("a time", time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), "2026-01-02T03:04:05.006Z"),
		Entry("a nil pointer that panics on Error", (*panicky)(nil), "<nil>"),
	)

	It("quotes keys by the same rule", func() {
		logger.Info("m", "odd key", 1)

		Expect(out.String()).To(Equal("m \"odd key\"=1\n"))
	})

	It("keeps a message with line breaks on one line, escaping them", func() {
		logger.Info("first\nsecond\r\nthird\u2028fourth\x1b[2J", "k", "v")

		Expect(out.String()).To(Equal(`first\nsecond\r\nthird\u2028fourth\x1b[2J k=v` + "\n"))
	})

	It("leaves tabs, quotes and non-ASCII in a message alone", func() {
		logger.Info("Completed task in workflow \"Grüße\"\tdone")

		Expect(out.String()).To(Equal("Completed task in workflow \"Grüße\"\tdone\n"))
	})
})

// panicky is an error whose Error panics on a nil receiver.
type panicky struct{ msg string }

func (p *panicky) Error() string { return p.msg }
