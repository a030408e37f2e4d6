package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// startRun is one fresh runwire process, from its start to its first task.
type startRun struct {
	auth       time.Duration // process start → POST /runners/auth at the broker
	upgrade    time.Duration // process start → the WebSocket upgrade request
	registered time.Duration // process start → runner:info at the broker (registered)
	firstTask  time.Duration // process start → runner:taskdone of a trivial task accepted at once
	stop       time.Duration // SIGTERM → exit
}

// startConcurrency is N8N_RUNNERS_MAX_CONCURRENCY for the start-up runs: n8n's default.
const startConcurrency = 5

// benchStarts starts runwire o.starts times. Each run measures the time to registration,
// then at once accepts a trivial task (the executor is still cold: the task waits for the
// zygote) and measures the time to its runner:taskdone, then stops runwire.
func (b *bench) benchStarts(ctx context.Context, trivial workload) error {
	for i := range b.opts.starts {
		b.progress("start-up run %d/%d", i+1, b.opts.starts)
		run, err := b.oneStart(ctx, trivial)
		if err != nil {
			return fmt.Errorf("start-up run %d: %w", i+1, err)
		}
		b.rep.starts = append(b.rep.starts, run)
	}
	return nil
}

func (b *bench) oneStart(ctx context.Context, trivial workload) (startRun, error) {
	run, _, err := b.oneStartWith(ctx, trivial)
	return run, err
}

// oneStartWith is oneStart with extra environment variables for runwire (KEY=value, replacing
// any the bench inherited).
func (b *bench) oneStartWith(ctx context.Context, trivial workload, extraEnv ...string) (startRun, *runwireProc, error) {
	p, c, err := b.launch(ctx, startConcurrency, extraEnv...)
	if err != nil {
		return startRun{}, nil, err
	}
	defer b.finish(p, nil)
	run := startRun{
		auth:       c.authAt.Sub(p.started),
		upgrade:    c.upgradeAt.Sub(p.started),
		registered: c.infoAt.Sub(p.started),
	}
	d := &driver{conn: c, taskTimeout: b.opts.taskTimeout, pid: p.pid}
	o, err := d.runTask(ctx, trivial)
	if err != nil {
		return startRun{}, p, b.withLogs(p, err)
	}
	if err := trivial.check(o.done); err != nil {
		return startRun{}, p, b.withLogs(p, err)
	}
	run.firstTask = o.doneAt.Sub(p.started)
	run.stop = b.finish(p, c).took
	return run, p, nil
}

// launch starts runwire with concurrency slots and waits for its registration.
func (b *bench) launch(ctx context.Context, concurrency int, extraEnv ...string) (*runwireProc, *runnerConn, error) {
	for len(b.broker.registered) > 0 {
		<-b.broker.registered // a stale registration from an earlier process
	}
	p, err := startRunwire(b.opts.runwire, withEnv(runwireEnv(b.environ, b.broker.url, b.authToken, concurrency), extraEnv...), b.logCopy)
	if err != nil {
		return nil, nil, err
	}
	b.track(p)
	c, err := b.broker.waitRegistered(ctx, 15*time.Second)
	if err != nil {
		b.finish(p, nil)
		return nil, nil, b.withLogs(p, err)
	}
	if !slices.Contains(c.types, "python") {
		b.finish(p, c)
		return nil, nil, b.withLogs(p, fmt.Errorf("runwire registered without the python task type (types %v): its Python executor is unavailable", c.types))
	}
	return p, c, nil
}

// withEnv is env with each KEY=value of extra set, replacing an earlier value of KEY.
func withEnv(env []string, extra ...string) []string {
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		env = slices.DeleteFunc(env, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		env = append(env, kv)
	}
	return env
}
