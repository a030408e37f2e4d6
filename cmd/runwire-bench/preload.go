package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// preloadCase is one runwire configuration of the preload benchmark (issue 13, point 4): a
// workload run sequentially in a fresh runwire with extra settings, and that runwire's idle
// tree.
type preloadCase struct {
	name string
	env  []string // KEY=value for runwire
	work workload
	// filled in by the run
	sample sample
	mem    memSummary
	zygote string // what runwire logged of its preloads ("" if none)
}

// debianPython is the interpreter of the pandas cases: Debian's, with Debian's python3-pandas
// (e2e/scripts/install-python-pandas.sh installs it).
const debianPython = "/usr/bin/python3"

// stdlibHeavy is the import-heavy standard-library task's module list.
const stdlibHeavy = "json,re,datetime,decimal,csv,email"

// preloadCases are the four configurations: the pandas workload without and with pandas
// preloaded (without: N8N_RUNNERS_EXTERNAL_ALLOW=*, which allows pandas but names nothing to
// preload), and the import-heavy stdlib task without and with its modules preloaded.
func preloadCases(n int) ([]*preloadCase, error) {
	pandasCode := "import pandas as pd\n" +
		"s = pd.DataFrame([{\"k\": i % 7, \"v\": i} for i in range(200)]).groupby(\"k\")[\"v\"].sum()\n" +
		"return [{\"json\": {str(k): int(v) for k, v in s.items()}}]"
	sums := map[string]any{}
	for i := range 200 {
		k := fmt.Sprint(i % 7)
		v, _ := sums[k].(int)
		sums[k] = v + i
	}
	pandas, err := oneWorkload("pandas group-by", n, pandasCode, []any{map[string]any{"json": sums}})
	if err != nil {
		return nil, err
	}
	stdlibCode := "import " + strings.ReplaceAll(stdlibHeavy, ",", ", ") + "\nreturn [{\"json\": {\"d\": str(decimal.Decimal(\"0.1\") * 3)}}]"
	stdlib, err := oneWorkload("import "+strings.ReplaceAll(stdlibHeavy, ",", ", "), n, stdlibCode, []any{map[string]any{"json": map[string]any{"d": "0.3"}}})
	if err != nil {
		return nil, err
	}
	py := "RUNWIRE_PYTHON=" + debianPython
	return []*preloadCase{
		{name: "pandas, not preloaded (N8N_RUNNERS_EXTERNAL_ALLOW=*)", env: []string{py, "N8N_RUNNERS_EXTERNAL_ALLOW=*"}, work: pandas},
		{name: "pandas, preloaded (N8N_RUNNERS_EXTERNAL_ALLOW=pandas, RUNWIRE_PYTHON_PRELOAD=pandas)", env: []string{py, "N8N_RUNNERS_EXTERNAL_ALLOW=pandas", "RUNWIRE_PYTHON_PRELOAD=pandas"}, work: pandas},
		{name: "stdlib imports, not preloaded", env: []string{py, "N8N_RUNNERS_STDLIB_ALLOW=" + stdlibHeavy}, work: stdlib},
		{name: "stdlib imports, preloaded (RUNWIRE_PYTHON_PRELOAD=" + stdlibHeavy + ")", env: []string{py, "N8N_RUNNERS_STDLIB_ALLOW=" + stdlibHeavy, "RUNWIRE_PYTHON_PRELOAD=" + stdlibHeavy}, work: stdlib},
	}, nil
}

func oneWorkload(name string, n int, code string, want any) (workload, error) {
	settings, err := json.Marshal(map[string]any{
		"code": code, "nodeMode": "runOnceForAllItems", "workflowMode": "manual", "continueOnFail": false,
		"items": []any{map[string]any{"json": map[string]any{}}}, "workflowName": "runwire-bench", "workflowId": "bench",
		"nodeName": "Code", "nodeId": "bench-node", "query": nil,
	})
	if err != nil {
		return workload{}, err
	}
	w, err := normalise(want)
	return workload{name: name, tasks: n, settings: settings, want: w}, err
}

// benchPreload runs each preload case in a fresh runwire, one task in flight: the warm-up,
// the idle tree's memory, then the measured tasks. Skipped, with the reason, when Debian's
// Python has no pandas.
func (b *bench) benchPreload(ctx context.Context) error {
	if err := exec.CommandContext(ctx, debianPython, "-c", "import pandas").Run(); err != nil { //nolint:gosec // a fixed path
		b.rep.preloadSkipped = fmt.Sprintf("%s cannot import pandas (%v): run e2e/scripts/install-python-pandas.sh (make bench does)", debianPython, err)
		return nil
	}
	cases, err := preloadCases(b.opts.preloadTasks)
	if err != nil {
		return err
	}
	for _, pc := range cases {
		b.progress("preload: %s, %d tasks", pc.name, pc.work.tasks)
		p, c, err := b.launch(ctx, 1, pc.env...)
		if err != nil {
			return err
		}
		d := &driver{conn: c, taskTimeout: b.opts.taskTimeout, pid: p.pid}
		if _, err := d.runMany(ctx, pc.work, 1, warmTasks); err != nil {
			b.finish(p, c)
			return b.withLogs(p, fmt.Errorf("preload warm-up (%s): %w", pc.name, err))
		}
		if err := sleep(ctx, b.opts.settle); err != nil {
			b.finish(p, c)
			return err
		}
		pc.mem = summarise(treeMemory(p.pid))
		pc.sample, err = d.runMeasured(ctx, pc.work, 1, 0, pc.work.tasks)
		pc.zygote = p.logs.field("preloaded")
		b.finish(p, c)
		if err != nil {
			return b.withLogs(p, err)
		}
	}
	b.rep.preload = cases
	return nil
}

func printPreload(w io.Writer, r *report) {
	if r.preloadSkipped != "" {
		fmt.Fprintf(w, "Preload cases skipped: %s.\n\n", r.preloadSkipped)
		return
	}
	if len(r.preload) == 0 {
		return
	}
	fmt.Fprintf(w, "| preload case (%s, 1 in flight) | tasks | p50 | p99 | tasks/s | idle tree RSS | PSS | unique | zygote RSS | a waiting child (RSS, PSS) |\n", debianPython)
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, pc := range r.preload {
		zygote, child := "?", "?"
		for _, role := range pc.mem.byRole {
			switch {
			case strings.HasSuffix(role.role, "zygote"):
				zygote = mib(role.rssKB)
			case strings.HasSuffix(role.role, "waiting children") && role.count > 0:
				child = mib(role.rssKB/int64(role.count)) + ", " + mib(role.pssKB/int64(role.count))
			}
		}
		s := pc.sample
		fmt.Fprintf(w, "| %s | %d | %s | %s | %.1f | %s | %s | %s | %s | %s |\n", pc.name, s.tasks,
			ms(s.p50), ms(s.p99), s.rate, mib(pc.mem.rssKB), pss(pc.mem), unique(pc.mem), zygote, child)
	}
	fmt.Fprintln(w)
	for _, pc := range r.preload {
		if pc.zygote != "" {
			fmt.Fprintf(w, "- %s: runwire logged preloads %s\n", pc.name, pc.zygote)
		}
	}
	fmt.Fprintln(w)
}
