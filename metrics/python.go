package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/runwire/runwire/python"
)

var (
	executorState = prometheus.NewDesc("runwire_executor_state",
		"The executor's state by task type: 1 for the state it is in (starting, running, restarting, unavailable, closed), 0 for the others.",
		[]string{"task_type", "state"}, nil)
	executorRestarts = prometheus.NewDesc("runwire_executor_restarts_total",
		"Python zygotes that ended and were replaced (killed, crashed, OOM).", []string{"task_type"}, nil)
	poolSize = prometheus.NewDesc("runwire_python_pool_size",
		"Task processes the pool keeps forked and waiting (RUNWIRE_PYTHON_PREFORK).", nil, nil)
	poolWaiting = prometheus.NewDesc("runwire_python_pool_waiting",
		"Task processes forked and waiting for a task now.", nil, nil)
	zygoteRSS = prometheus.NewDesc("runwire_python_zygote_resident_bytes",
		"The running Python zygote's resident memory (/proc/<pid>/statm); 0 while none runs.", nil, nil)
)

// executorStates are python.State's names, in order.
var executorStates = []python.State{python.Starting, python.Running, python.Restarting, python.Unavailable, python.Closed}

// pythonCollector reads the python executor's Stats once per scrape.
type pythonCollector struct{ py *python.Executor }

func (c *pythonCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{executorState, executorRestarts, poolSize, poolWaiting, zygoteRSS} {
		ch <- d
	}
}

func (c *pythonCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.py.Stats()
	for _, st := range executorStates {
		ch <- prometheus.MustNewConstMetric(executorState, prometheus.GaugeValue, boolValue(s.State == st), python.TaskType, st.String())
	}
	ch <- prometheus.MustNewConstMetric(executorRestarts, prometheus.CounterValue, float64(s.Restarts), python.TaskType)
	ch <- prometheus.MustNewConstMetric(poolSize, prometheus.GaugeValue, float64(s.PoolSize))
	ch <- prometheus.MustNewConstMetric(poolWaiting, prometheus.GaugeValue, float64(s.Waiting))
	ch <- prometheus.MustNewConstMetric(zygoteRSS, prometheus.GaugeValue, float64(s.ZygoteRSS))
}
