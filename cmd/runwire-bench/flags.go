package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// options are the command-line flags.
type options struct {
	runwire     string
	starts      int
	trivial     int
	allItems    int
	perItem     int
	prints      int
	warmup      int
	settle      time.Duration
	taskTimeout time.Duration
	stopGrace   time.Duration
	quiet       bool
	levels      []int
	logPath     string
	cold        int
	coldPythons []string
	coldOnly    bool
	// preloadTasks is how many tasks each preload case measures (0: none); preloadOnly
	// runs those cases only.
	preloadTasks int
	preloadOnly  bool
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("runwire-bench", flag.ContinueOnError)
	fs.StringVar(&o.runwire, "runwire", "bin/runwire", "`path` of the runwire binary to measure (make build writes bin/runwire)")
	fs.IntVar(&o.starts, "starts", 10, "fresh processes for start-to-registered")
	fs.IntVar(&o.trivial, "trivial", 3000, "measured trivial tasks per in-flight level")
	fs.IntVar(&o.allItems, "all-items", 1000, "measured all-items tasks (1,000 items) per in-flight level")
	fs.IntVar(&o.perItem, "per-item", 1000, "measured per-item tasks (1,000 items) per in-flight level")
	fs.IntVar(&o.prints, "prints", 1000, "measured print-heavy tasks per in-flight level")
	fs.IntVar(&o.warmup, "warmup", 20, "uncounted tasks before each workload")
	fs.DurationVar(&o.settle, "settle", 2*time.Second, "wait before each idle-memory measurement")
	fs.DurationVar(&o.taskTimeout, "task-timeout", 30*time.Second, "longest a task may take before the bench fails")
	fs.DurationVar(&o.stopGrace, "stop-grace", 16*time.Second, "SIGTERM to SIGKILL for the runwire child (runwire itself gives up after its 10 s graceful timeout + 5 s)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress lines on stderr")
	fs.StringVar(&o.logPath, "runwire-log", "", "append every runwire output line to this `file`")
	fs.IntVar(&o.cold, "cold", 20, "fresh processes per --cold-python interpreter for the cold start (0: none)")
	coldPythons := fs.String("cold-python", "/usr/bin/python3,python3", "comma-separated RUNWIRE_PYTHON values for the cold start (a missing one is skipped)")
	fs.BoolVar(&o.coldOnly, "cold-only", false, "measure the cold start only, not the start-up runs and workloads")
	fs.IntVar(&o.preloadTasks, "preload", 200, "measured tasks per preload case: pandas and an import-heavy stdlib task, without and with preloads, with /usr/bin/python3 (0: none)")
	fs.BoolVar(&o.preloadOnly, "preload-only", false, "run the preload cases only")
	levels := fs.String("in-flight", "1,5", "in-flight levels; each gets a runwire with N8N_RUNNERS_MAX_CONCURRENCY at that level")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for f := range strings.SplitSeq(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return o, fmt.Errorf("--in-flight: %q is not a positive number", f)
		}
		o.levels = append(o.levels, n)
	}
	for f := range strings.SplitSeq(*coldPythons, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if _, err := exec.LookPath(f); err != nil {
			fmt.Fprintf(os.Stderr, "runwire-bench: --cold-python %s skipped: %v\n", f, err)
			continue
		}
		o.coldPythons = append(o.coldPythons, f)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.starts < 1 || o.warmup < 0 || o.trivial < 1 {
		return o, errors.New("--starts and --trivial must be at least 1, --warmup at least 0")
	}
	if _, err := os.Stat(o.runwire); err != nil {
		return o, fmt.Errorf("--runwire: %w (run `make build` first)", err)
	}
	return o, nil
}
