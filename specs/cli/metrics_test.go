package cli_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/runwire/runwire/specs/support"
)

// slowSpec bounds a spec that waits out a task timeout and a zygote restart.
const slowSpec = 40 * time.Second

// marker is in the tasks' code and data: /metrics must never show it.
const marker = "metrics-spec-marker-4b1d"

// healthBase waits for the health server's line and returns its base URL.
func healthBase(p *process) string {
	GinkgoHelper()
	Eventually(p.stdout).Should(gbytes.Say(`Health check server listening on 127\.0\.0\.1, port (\d+)\n`))
	return "http://127.0.0.1:" + regexp.MustCompile(`port (\d+)`).FindStringSubmatch(string(p.stdout.Contents()))[1]
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)

// samples parses a text exposition into "name{a="x",b="y"}" → value, labels as written
// (client_golang sorts them by name).
func samples(body string) map[string]float64 {
	out := map[string]float64{}
	for line := range strings.Lines(body) {
		m := sampleLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(m[3], 64)
		Expect(err).NotTo(HaveOccurred(), line)
		key := m[1]
		if m[2] != "" {
			key += "{" + m[2] + "}"
		}
		out[key] = v
	}
	return out
}

// scrape GETs /metrics and parses it.
func scrape(base string) map[string]float64 {
	GinkgoHelper()
	status, body := health(base + "/metrics")
	Expect(status).To(Equal(200))
	Expect(body).NotTo(ContainSubstring(marker), "no code or data in the metrics")
	Expect(body).NotTo(ContainSubstring(authToken), "no secret in the metrics")
	return samples(body)
}

// zygoteOf is the host pid of the Python zygote this process runs (0: none).
func zygoteOf() int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if len(fields) > 1 && fields[0] != "Z" && fields[1] == strconv.Itoa(os.Getpid()) && strings.Contains(string(cmdline), "zygote.py") {
			return pid
		}
	}
	return 0
}

var _ = Describe("/metrics", Label("integration"), func() {
	healthOn := []string{"N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED=true", "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=0"}

	It("counts tasks by outcome, the connection, the executor and the bytes, after tasks over the loopback broker", func(ctx SpecContext) {
		b := support.NewBroker(authToken, nil)
		DeferCleanup(b.Close)
		p, in := withPython(ctx, b, append(healthOn, "N8N_RUNNERS_TASK_TIMEOUT=2", "N8N_RUNNERS_STDLIB_ALLOW=time")...)
		base := healthBase(p)
		Eventually(ctx, func() int { status, _ := health(base + "/readyz"); return status }).Should(Equal(200), "Python runs")

		before := scrape(base)
		Expect(before).To(HaveKeyWithValue(`runwire_tasks_total{outcome="done",task_type="python"}`, 0.0))
		Expect(before).To(HaveKeyWithValue(`runwire_broker_reconnects_total{cause="conn_lost"}`, 0.0))
		Expect(before).To(HaveKeyWithValue(`runwire_broker_auth_failures_total`, 0.0))

		run := func(id, code string) map[string]any {
			GinkgoHelper()
			startTask(in, id, code)
			return in.Await("the outcome of "+id, support.IsTerminal(id))
		}
		Expect(run("T1", `return [{"json": {"m": "`+marker+`"}}]`)).To(HaveKeyWithValue("type", "runner:taskdone"))
		Expect(run("T2", `return [{"json": {"ok": 2}}]`)).To(HaveKeyWithValue("type", "runner:taskdone"))
		Expect(run("T3", `raise ValueError("`+marker+`")`)).To(HaveKeyWithValue("type", "runner:taskerror"))
		Expect(run("T4", "import time\ntime.sleep(30)\nreturn []")).To(HaveKeyWithValue("type", "runner:taskerror")) // the 2 s timeout
		startTask(in, "T5", "import time\ntime.sleep(30)\nreturn []")
		in.Send(map[string]any{"type": "broker:taskcancel", "taskId": "T5", "reason": "spec"})
		in.Await("T5's outcome", support.IsTerminal("T5"))
		in.Send(map[string]any{"type": "broker:taskofferaccept", "taskId": "T6", "offerId": "no-such-offer"})
		in.Await("T6's rejection", support.IsType("runner:taskrejected"))

		var after map[string]float64
		Eventually(ctx, func() map[string]float64 { after = scrape(base); return after }).
			Should(HaveKeyWithValue(`runwire_tasks_running`, 0.0))
		Expect(after).To(HaveKeyWithValue(`runwire_tasks_total{outcome="done",task_type="python"}`, 2.0))
		Expect(after).To(HaveKeyWithValue(`runwire_tasks_total{outcome="error",task_type="python"}`, 1.0))
		Expect(after).To(HaveKeyWithValue(`runwire_tasks_total{outcome="timeout",task_type="python"}`, 1.0))
		Expect(after).To(HaveKeyWithValue(`runwire_tasks_total{outcome="cancelled",task_type="python"}`, 1.0))
		Expect(after).To(HaveKeyWithValue(`runwire_tasks_total{outcome="rejected",task_type="unknown"}`, 1.0))
		Expect(after).To(HaveKeyWithValue(`runwire_task_duration_seconds_count{outcome="done",task_type="python"}`, 2.0))
		Expect(after).To(HaveKeyWithValue(`runwire_task_run_duration_seconds_count{task_type="python"}`, 5.0))
		Expect(after[`runwire_task_duration_seconds_sum{outcome="timeout",task_type="python"}`]).To(BeNumerically(">=", 2), "the timeout's 2 s")
		Expect(after).To(HaveKeyWithValue(`runwire_broker_connection_state{state="Listening"}`, 1.0))
		Expect(after).To(HaveKeyWithValue(`runwire_broker_connection_state{state="Backoff"}`, 0.0))
		Expect(after).To(HaveKeyWithValue(`runwire_broker_registered`, 1.0))
		Expect(after).To(HaveKeyWithValue(`runwire_executor_state{state="running",task_type="python"}`, 1.0))
		Expect(after).To(HaveKeyWithValue(`runwire_executor_state{state="unavailable",task_type="python"}`, 0.0))
		Expect(after).To(HaveKeyWithValue(`runwire_python_pool_size`, 2.0))
		Expect(after[`runwire_python_zygote_resident_bytes`]).To(BeNumerically(">", 1<<20))
		Expect(after[`runwire_broker_sent_bytes_total`]).To(BeNumerically(">", before[`runwire_broker_sent_bytes_total`]))
		Expect(after[`runwire_broker_received_bytes_total`]).To(BeNumerically(">", before[`runwire_broker_received_bytes_total`]))
		Eventually(ctx, func() float64 { return scrape(base)[`runwire_python_pool_waiting`] }).Should(Equal(2.0), "the pool refills")

		// The zygote dies: one restart, and the executor runs again.
		z := zygoteOf()
		Expect(z).NotTo(BeZero())
		Expect(syscall.Kill(z, syscall.SIGKILL)).To(Succeed())
		Eventually(ctx, func() float64 { return scrape(base)[`runwire_executor_restarts_total{task_type="python"}`] }).Should(Equal(1.0))
		Eventually(ctx, func() float64 {
			return scrape(base)[`runwire_executor_state{state="running",task_type="python"}`]
		}).Should(Equal(1.0), "a new zygote runs")
	}, SpecTimeout(slowSpec))

	It("counts a lost connection as a reconnect by its cause", func(ctx SpecContext) {
		b := support.NewBroker(authToken, nil)
		DeferCleanup(b.Close)
		in, _ := pythonPath()
		p := start(nil, append(healthOn, "N8N_RUNNERS_TASK_BROKER_URI="+b.URL(), "N8N_RUNNERS_AUTH_TOKEN="+authToken,
			"RUNWIRE_PYTHON="+in.Path, "RUNWIRE_BACKOFF_INITIAL=10ms", "RUNWIRE_BACKOFF_MAX=20ms")...)
		base := healthBase(p)
		var c *support.BrokerConn
		Eventually(ctx, b.Registered()).Should(Receive(&c))
		c.Drop()
		Eventually(ctx, b.Registered()).Should(Receive(), "registered again")
		Eventually(ctx, func() float64 { return scrape(base)[`runwire_broker_reconnects_total{cause="conn_lost"}`] }).Should(Equal(1.0))
		Eventually(ctx, func() float64 { return scrape(base)[`runwire_broker_registered`] }).Should(Equal(1.0))
	}, SpecTimeout(slowSpec))

	It("is not served with RUNWIRE_METRICS=false: the path is a health check like any other", func(ctx SpecContext) {
		b := support.NewBroker(authToken, nil)
		DeferCleanup(b.Close)
		p, _ := withPython(ctx, b, append(healthOn, "RUNWIRE_METRICS=false")...)
		status, body := health(healthBase(p) + "/metrics")
		Expect([]any{status, body}).To(Equal([]any{200, "OK"}))
	}, SpecTimeout(slowSpec))
})
