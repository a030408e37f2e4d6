package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// coldSample is --cold fresh processes with one interpreter (RUNWIRE_PYTHON).
type coldSample struct {
	python     string          // RUNWIRE_PYTHON as given
	resolved   string          // what runwire logged it ran ("Python 3.11.2 (/usr/bin/python3)")
	registered []time.Duration // process start → runner:info
	firstTask  []time.Duration // process start → runner:taskdone of a task accepted on the first offer
}

// benchCold measures the cold start with each --cold-python interpreter: o.cold fresh
// runwire processes each, every one accepting a trivial task on its first offer. The runs
// of the interpreters are interleaved (one of each in turn), so a spell of load on the
// machine falls on all of them alike.
func (b *bench) benchCold(ctx context.Context, trivial workload) error {
	samples := make([]coldSample, len(b.opts.coldPythons))
	for i, py := range b.opts.coldPythons {
		samples[i].python = py
	}
	for n := range b.opts.cold {
		for i := range samples {
			s := &samples[i]
			b.progress("cold start %d/%d, RUNWIRE_PYTHON=%s", n+1, b.opts.cold, s.python)
			run, p, err := b.oneStartWith(ctx, trivial, "RUNWIRE_PYTHON="+s.python)
			if err != nil {
				return fmt.Errorf("cold start %d with RUNWIRE_PYTHON=%s: %w", n+1, s.python, err)
			}
			if py := p.python(); py != "" {
				s.resolved = py
			}
			s.registered = append(s.registered, run.registered)
			s.firstTask = append(s.firstTask, run.firstTask)
		}
	}
	b.rep.cold = samples
	return nil
}

func printCold(w io.Writer, samples []coldSample) {
	if len(samples) == 0 {
		return
	}
	fmt.Fprintln(w, "| cold start, RUNWIRE_PYTHON | runs | first task p50 | p90 | min | max | registered p50 |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, s := range samples {
		name := s.python
		if s.resolved != "" && !strings.Contains(s.resolved, s.python) {
			name += " → " + s.resolved
		} else if s.resolved != "" {
			name = s.resolved
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s |\n", name, len(s.firstTask),
			ms(percentile(s.firstTask, 50)), ms(percentile(s.firstTask, 90)),
			ms(slices.Min(s.firstTask)), ms(slices.Max(s.firstTask)), ms(percentile(s.registered, 50)))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Cold start: fork of bin/runwire → runner:taskdone of a trivial task accepted on its first offer (N8N_RUNNERS_MAX_CONCURRENCY=5).")
	fmt.Fprintln(w)
}
