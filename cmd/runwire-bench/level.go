package main

import (
	"context"
	"fmt"
	"time"
)

// memSnapshot is the process tree's memory at one moment.
type memSnapshot struct {
	label string
	mem   memSummary
}

// warmTasks is how many trivial tasks warm a fresh runwire up before its idle memory is
// measured: the zygote has booted and the pool of waiting children is full again after them.
const warmTasks = 20

// benchLevel starts one runwire with N8N_RUNNERS_MAX_CONCURRENCY=inFlight and runs every
// workload with inFlight tasks at once. The tree's idle memory is measured after the warm-up
// and again after the workloads, each time after o.settle.
func (b *bench) benchLevel(ctx context.Context, inFlight int, ws []workload) error {
	b.progress("%d in flight: starting runwire (N8N_RUNNERS_MAX_CONCURRENCY=%d)", inFlight, inFlight)
	p, c, err := b.launch(ctx, inFlight)
	if err != nil {
		return err
	}
	defer b.finish(p, c)
	d := &driver{conn: c, taskTimeout: b.opts.taskTimeout, pid: p.pid}
	if _, err := d.runMany(ctx, ws[0], inFlight, warmTasks); err != nil {
		return b.withLogs(p, fmt.Errorf("warm-up: %w", err))
	}
	if err := sleep(ctx, b.opts.settle); err != nil {
		return err
	}
	b.rep.mem = append(b.rep.mem, memSnapshot{
		label: fmt.Sprintf("N8N_RUNNERS_MAX_CONCURRENCY=%d, idle after %d warm-up tasks and %s", inFlight, warmTasks, b.opts.settle),
		mem:   summarise(treeMemory(p.pid)),
	})
	for _, w := range ws {
		if w.tasks <= 0 {
			continue
		}
		b.progress("%d in flight: %s, %d tasks", inFlight, w.name, w.tasks)
		s, err := d.runMeasured(ctx, w, inFlight, b.opts.warmup, w.tasks)
		if err != nil {
			return b.withLogs(p, err)
		}
		b.rep.samples = append(b.rep.samples, s)
	}
	if err := sleep(ctx, b.opts.settle); err != nil {
		return err
	}
	b.rep.mem = append(b.rep.mem, memSnapshot{
		label: fmt.Sprintf("N8N_RUNNERS_MAX_CONCURRENCY=%d, idle after the workloads and %s", inFlight, b.opts.settle),
		mem:   summarise(treeMemory(p.pid)),
	})
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
