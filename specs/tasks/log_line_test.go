package tasks_test

import (
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/runwire/runwire/fsm"
	"github.com/runwire/runwire/logging"
	"github.com/runwire/runwire/specs/support"
	"github.com/runwire/runwire/tasks"
	"github.com/runwire/runwire/transport"
)

// logMarker is in the code, the items and an error's text of the tasks below: no line may
// show it.
const logMarker = "log-line-spec-marker-93c1"

// withLogger gives the manager its own logger (the machine keeps the rig's).
func withLogger(l *slog.Logger) setup {
	return func(t *tasks.Options, _ *fsm.Options, _ *transport.Dialer) { t.Logger = l }
}

// loggedTo starts a rig whose manager logs at INFO in format into the returned buffer.
func loggedTo(ctx SpecContext, format string, setups ...setup) (*rig, *gbytes.Buffer) {
	GinkgoHelper()
	out := gbytes.NewBuffer()
	l, err := logging.New(out, logging.Options{Level: slog.LevelInfo, Format: format})
	Expect(err).NotTo(HaveOccurred())
	return newRig(ctx, append(setups, withLogger(l))...), out
}

// linesOf are the lines of out that name taskID.
func linesOf(out *gbytes.Buffer, taskID string) []string {
	var lines []string
	for line := range strings.Lines(string(out.Contents())) {
		if strings.Contains(line, "task_id="+taskID+" ") || strings.Contains(line, `"task_id":"`+taskID+`"`) {
			lines = append(lines, line)
		}
	}
	return lines
}

// onlyLine waits for taskID's line and checks that it is its only one.
func onlyLine(ctx SpecContext, out *gbytes.Buffer, taskID string) string {
	GinkgoHelper()
	Eventually(ctx, func() []string { return linesOf(out, taskID) }).Should(HaveLen(1), "one line for "+taskID)
	Consistently(ctx, func() []string { return linesOf(out, taskID) }, quiet).Should(HaveLen(1), "only one line for "+taskID)
	return linesOf(out, taskID)[0]
}

// textLine is the text format's header and the per-task line's message and first fields.
const textLine = `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}  (INFO|WARN)  Task (done|error|timeout|cancelled|rejected) task_id=(\S+) outcome=(\S+)`

// durationOf parses a line's duration= field.
func durationOf(line string) time.Duration {
	GinkgoHelper()
	m := regexp.MustCompile(` duration=(\S+)`).FindStringSubmatch(line)
	Expect(m).NotTo(BeNil(), line)
	d, err := time.ParseDuration(m[1])
	Expect(err).NotTo(HaveOccurred(), line)
	return d
}

func markedSettings() map[string]any {
	return pySettings("code", "return [{'json': {'k': '"+logMarker+"'}}]",
		"items", []any{map[string]any{"json": map[string]any{"secret": logMarker}}},
		"nodeName", "Code in Python", "nodeId", "n-1", "workflowName", "Orders sync", "workflowId", "w-1")
}

var _ = Describe("The per-task log line", Label("integration"), func() {
	It("is one INFO line per task in the text format: id, outcome, node, workflow, duration; nothing of the code, the items or an error's text", func(ctx SpecContext) {
		r, out := loggedTo(ctx, logging.FormatText)
		r.fake.ForTask("E1", support.Behaviour{Err: &tasks.Error{Message: "ValueError: " + logMarker}})
		r.fake.ForTask("C1", support.Behaviour{Block: true})
		p := r.connection()

		p.start("D1", markedSettings())
		p.terminal("D1")
		p.start("E1", markedSettings())
		Expect(p.terminal("E1")).To(HaveKeyWithValue("type", typeError))
		p.start("C1", markedSettings())
		p.cancel("C1")
		p.terminal("C1")
		p.mustAccept("W1") // cancelled while waiting for its settings
		p.cancel("W1")
		Expect(p.acceptOffer("R1", "no-such-offer")).To(Equal(rejected("R1", tasks.RejectOfferExpired)))

		named := ` node="Code in Python" workflow="Orders sync" duration=[0-9.]+(µs|ms|s)`
		Expect(onlyLine(ctx, out, "D1")).To(MatchRegexp(textLine + named + `\n$`))
		Expect(onlyLine(ctx, out, "D1")).To(MatchRegexp(`  INFO  Task done task_id=D1 outcome=done `))
		Expect(onlyLine(ctx, out, "E1")).To(MatchRegexp(`  INFO  Task error task_id=E1 outcome=error` + named + `\n$`))
		Expect(onlyLine(ctx, out, "C1")).To(MatchRegexp(`  INFO  Task cancelled task_id=C1 outcome=cancelled` + named + ` reason="cancelled by the broker"\n$`))
		Expect(onlyLine(ctx, out, "W1")).To(MatchRegexp(textLine + ` duration=[0-9.]+(µs|ms|s) reason="cancelled by the broker while waiting for its settings"\n$`))
		Expect(onlyLine(ctx, out, "R1")).To(MatchRegexp(`  INFO  Task rejected task_id=R1 outcome=rejected reason="Offer expired - not accepted within validity window"\n$`))
		for _, id := range []string{"D1", "E1", "C1", "W1", "R1"} {
			Expect(onlyLine(ctx, out, id)).To(MatchRegexp(textLine), id)
		}
		Expect(durationOf(onlyLine(ctx, out, "D1"))).To(BeNumerically(">", 0))
		Expect(string(out.Contents())).NotTo(ContainSubstring(logMarker))
	}, SpecTimeout(specTimeout))

	It("says a timeout and the setting behind it, with the time since the accept", func(ctx SpecContext) {
		r, out := loggedTo(ctx, logging.FormatText, withTaskTimeout(300*time.Millisecond))
		r.fake.ForTask("T1", support.Behaviour{Block: true})
		p := r.connection()
		p.start("T1", markedSettings())
		p.terminal("T1")

		line := onlyLine(ctx, out, "T1")
		Expect(line).To(MatchRegexp(`  INFO  Task timeout task_id=T1 outcome=timeout node="Code in Python" workflow="Orders sync" duration=\S+ reason="ran longer than N8N_RUNNERS_TASK_TIMEOUT \(300ms\)"\n$`))
		Expect(durationOf(line)).To(BeNumerically(">=", 300*time.Millisecond))
	}, SpecTimeout(specTimeout))

	It("is a JSON record with the same fields in the JSON format", func(ctx SpecContext) {
		r, out := loggedTo(ctx, logging.FormatJSON)
		p := r.connection()
		p.start("J1", markedSettings())
		p.terminal("J1")

		var rec map[string]any
		Expect(json.Unmarshal([]byte(onlyLine(ctx, out, "J1")), &rec)).To(Succeed())
		Expect(rec).To(HaveKeyWithValue("level", "INFO"))
		Expect(rec).To(HaveKeyWithValue("msg", "Task done"))
		Expect(rec).To(HaveKeyWithValue("task_id", "J1"))
		Expect(rec).To(HaveKeyWithValue("outcome", "done"))
		Expect(rec).To(HaveKeyWithValue("node", "Code in Python"))
		Expect(rec).To(HaveKeyWithValue("workflow", "Orders sync"))
		Expect(rec).To(HaveKey("time"))
		Expect(rec).To(HaveKey("duration"))
		Expect(rec).To(HaveLen(8), "nothing else")
		d, err := time.ParseDuration(rec["duration"].(string))
		Expect(err).NotTo(HaveOccurred())
		Expect(d).To(BeNumerically(">", 0))
		Expect(string(out.Contents())).NotTo(ContainSubstring(logMarker))
	}, SpecTimeout(specTimeout))
})
