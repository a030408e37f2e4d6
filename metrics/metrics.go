package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/runwire/runwire/fsm"
	"github.com/runwire/runwire/python"
	"github.com/runwire/runwire/tasks"
	"github.com/runwire/runwire/transport"
)

// durationBuckets span a trivial warm task (a few ms) to n8n's default task timeout (60 s)
// and beyond.
var durationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

// Metrics is one process's registry. Create it with New before the task manager and the
// machine (it is their Observer and OnChange), then Watch them once they exist. Its methods
// are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	tasks        *prometheus.CounterVec
	taskDuration *prometheus.HistogramVec
	taskRun      *prometheus.HistogramVec
	reconnects   *prometheus.CounterVec
	authFailures prometheus.Counter
}

// New makes the registry with the event counters, Go's runtime and the process's own.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runwire_tasks_total",
			Help: "Tasks by type and outcome: done, error, timeout, cancelled, and rejected accepts.",
		}, []string{"task_type", "outcome"}),
		taskDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "runwire_task_duration_seconds",
			Help:    "From a task's accept to its terminal message, by type and outcome.",
			Buckets: durationBuckets,
		}, []string{"task_type", "outcome"}),
		taskRun: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "runwire_task_run_duration_seconds",
			Help:    "The executor's own run time of a task, by type.",
			Buckets: durationBuckets,
		}, []string{"task_type"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "runwire_broker_reconnects_total",
			Help: "Waits before a new connection attempt, by cause: dial_failed (an attempt failed) or conn_lost (an open connection ended).",
		}, []string{"cause"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "runwire_broker_auth_failures_total",
			Help: "Times the broker refused runwire's credentials (the runner then stops, exit code 3).",
		}),
	}
	m.reg.MustRegister(m.tasks, m.taskDuration, m.taskRun, m.reconnects, m.authFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, cause := range []fsm.Event{fsm.EventDialFailed, fsm.EventConnLost} {
		m.reconnects.WithLabelValues(string(cause)) // present at 0 from the start
	}
	return m
}

// Sources are what the gauges are read from at scrape time; a nil field is left out.
type Sources struct {
	Machine *fsm.Machine
	Tasks   *tasks.Manager
	Traffic *transport.Traffic
	// Python is the python executor, if runwire has one.
	Python *python.Executor
}

// Watch registers the gauges read from src. Call it once, before the first scrape.
func (m *Metrics) Watch(src Sources) {
	if src.Tasks != nil {
		for _, typ := range src.Tasks.TaskTypes() {
			for _, o := range []tasks.Outcome{tasks.OutcomeDone, tasks.OutcomeError, tasks.OutcomeTimeout, tasks.OutcomeCancelled, tasks.OutcomeRejected} {
				m.tasks.WithLabelValues(typ, string(o))
			}
		}
		mgr := src.Tasks
		m.reg.MustRegister(
			gauge("runwire_offers_open", "Task offers sent to the broker and not yet accepted or expired.", func() float64 { return float64(mgr.OpenOffers()) }),
			gauge("runwire_tasks_running", "Accepted tasks that have not ended (waiting for settings, running, or reporting).", func() float64 { return float64(mgr.Running()) }),
		)
	}
	if src.Machine != nil {
		machine := src.Machine
		m.reg.MustRegister(
			&stateCollector{desc: prometheus.NewDesc("runwire_broker_connection_state",
				"The broker connection's state machine: 1 for the state it is in, 0 for the others.", []string{"state"}, nil),
				states: stateNames(fsm.States()), current: func() string { return string(machine.State()) }},
			gauge("runwire_broker_registered", "1 while the broker has the runner registered.", func() float64 { return boolValue(machine.Registered()) }),
		)
	}
	if src.Traffic != nil {
		t := src.Traffic
		m.reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "runwire_broker_received_bytes_total", Help: "Bytes of the messages the broker sent, over every connection."},
				func() float64 { return float64(t.In.Load()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "runwire_broker_sent_bytes_total", Help: "Bytes of the messages runwire sent the broker, over every connection."},
				func() float64 { return float64(t.Out.Load()) }),
		)
	}
	if src.Python != nil {
		m.reg.MustRegister(&pythonCollector{py: src.Python})
	}
}

// Handler serves the text exposition.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// TaskEnded implements tasks.Observer.
func (m *Metrics) TaskEnded(taskType string, outcome tasks.Outcome, sinceAccept, run time.Duration) {
	m.tasks.WithLabelValues(taskType, string(outcome)).Inc()
	m.taskDuration.WithLabelValues(taskType, string(outcome)).Observe(sinceAccept.Seconds())
	if run > 0 {
		m.taskRun.WithLabelValues(taskType).Observe(run.Seconds())
	}
}

// TaskRejected implements tasks.Observer.
func (m *Metrics) TaskRejected(taskType string) {
	m.tasks.WithLabelValues(taskType, string(tasks.OutcomeRejected)).Inc()
}

// StateChanged is fsm.Options.OnChange: it counts the reconnects by cause and the auth
// failures.
func (m *Metrics) StateChanged(_, to fsm.State, ev fsm.Event) {
	switch to {
	case fsm.Backoff:
		m.reconnects.WithLabelValues(string(ev)).Inc()
	case fsm.AuthFailed:
		m.authFailures.Inc()
	}
}

func gauge(name, help string, f func() float64) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func stateNames(states []fsm.State) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}

// stateCollector is a gauge per state: 1 for the current one, 0 for the rest, so that
// an alert can match on the state by name.
type stateCollector struct {
	desc    *prometheus.Desc
	states  []string
	current func() string
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.current()
	for _, s := range c.states {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, boolValue(s == now), s)
	}
}
