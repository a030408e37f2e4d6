package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// rejectExpired is the runner's reason for an offer that expired before the accept arrived;
// the broker then matches the task with the next offer, as n8n's does.
const rejectExpired = "Offer expired - not accepted within validity window"

// taskOutcome is one successful task as the broker saw it.
type taskOutcome struct {
	latency time.Duration // broker:taskofferaccept sent → runner:taskdone read
	doneAt  time.Time
	done    []byte // the runner:taskdone message
	prints  int    // logNodeOutput calls before runner:taskdone
}

// driver drives tasks over one registered connection.
type driver struct {
	conn        *runnerConn
	taskTimeout time.Duration
	seq         atomic.Int64 // task ids unique per connection
	expired     atomic.Int64 // offers the runner rejected as expired (retried)
	pid         int          // runwire's pid, for the CPU its process tree uses
}

// runTask drives one task: take an offer, accept it, wait for runner:taskaccepted, send the
// settings, wait for runner:taskdone. A rejection other than an expired offer, a
// runner:taskerror, or no answer in time is an error.
func (d *driver) runTask(ctx context.Context, w workload) (taskOutcome, error) {
	id := fmt.Sprintf("bench-%d", d.seq.Add(1))
	waiter := d.conn.watch(id)
	defer d.conn.unwatch(id)
	ctx, cancel := context.WithTimeout(ctx, d.taskTimeout)
	defer cancel()
	for {
		o, ok := d.conn.offers.take(ctx, "python", d.conn.closed)
		if !ok {
			return taskOutcome{}, d.stopped(ctx, id, "waiting for an offer")
		}
		accept, _ := json.Marshal(map[string]string{"type": "broker:taskofferaccept", "taskId": id, "offerId": o.id})
		d.conn.opened(id)
		start := time.Now()
		if err := d.conn.send(ctx, accept); err != nil {
			return taskOutcome{}, fmt.Errorf("task %s: sending broker:taskofferaccept: %w", id, err)
		}
		ev, err := d.next(ctx, waiter, id, "runner:taskaccepted")
		if err != nil {
			return taskOutcome{}, err
		}
		switch ev.typ {
		case "runner:taskaccepted":
		case "runner:taskrejected":
			if ev.reason == rejectExpired {
				d.expired.Add(1)
				continue
			}
			return taskOutcome{}, fmt.Errorf("task %s: runner:taskrejected %q for an offer it had made", id, ev.reason)
		default:
			return taskOutcome{}, fmt.Errorf("task %s: %s instead of runner:taskaccepted", id, ev.typ)
		}
		if err := d.conn.send(ctx, w.settingsFrame(id)); err != nil {
			return taskOutcome{}, fmt.Errorf("task %s: sending broker:tasksettings: %w", id, err)
		}
		ev, err = d.next(ctx, waiter, id, "runner:taskdone")
		if err != nil {
			return taskOutcome{}, err
		}
		switch ev.typ {
		case "runner:taskdone":
			return taskOutcome{latency: ev.at.Sub(start), doneAt: ev.at, done: ev.data, prints: ev.prints}, nil
		case "runner:taskerror":
			return taskOutcome{}, fmt.Errorf("task %s (%s) failed: %s", id, w.name, truncate(string(ev.data), 500))
		default:
			return taskOutcome{}, fmt.Errorf("task %s: %s instead of runner:taskdone", id, ev.typ)
		}
	}
}

func (d *driver) next(ctx context.Context, w *taskWaiter, id, want string) (event, error) {
	select {
	case ev := <-w.events:
		return ev, nil
	case <-ctx.Done():
		return event{}, d.stopped(ctx, id, "waiting for "+want)
	case <-d.conn.closed:
		return event{}, d.stopped(ctx, id, "waiting for "+want)
	}
}

func (d *driver) stopped(ctx context.Context, id, doing string) error {
	select {
	case <-d.conn.closed:
		return fmt.Errorf("task %s, %s: %w", id, doing, d.conn.closedErr())
	default:
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("task %s: no answer within %s, %s", id, d.taskTimeout, doing)
	}
	return ctx.Err()
}

// runMeasured runs n tasks of w with inFlight drivers at once, after warmup tasks that are
// not counted, and checks every result once the clock has stopped.
func (d *driver) runMeasured(ctx context.Context, w workload, inFlight, warmup, n int) (sample, error) {
	if _, err := d.runMany(ctx, w, inFlight, warmup); err != nil {
		return sample{}, fmt.Errorf("%s warm-up: %w", w.name, err)
	}
	expiredBefore := d.expired.Load()
	cpuBefore, treeBefore := selfCPU(), treeCPU(d.pid)
	start := time.Now()
	outcomes, err := d.runMany(ctx, w, inFlight, n)
	cpu, tree := selfCPU()-cpuBefore, treeCPU(d.pid)-treeBefore
	if err != nil {
		return sample{}, fmt.Errorf("%s, %d in flight: %w", w.name, inFlight, err)
	}
	last := start
	lat := make([]time.Duration, len(outcomes))
	for i, o := range outcomes {
		lat[i] = o.latency
		if o.doneAt.After(last) {
			last = o.doneAt
		}
		if o.prints != w.prints {
			return sample{}, fmt.Errorf("%s: a task made %d logNodeOutput calls before runner:taskdone, want %d", w.name, o.prints, w.prints)
		}
		if err := w.check(o.done); err != nil {
			return sample{}, fmt.Errorf("%s: %w", w.name, err)
		}
	}
	s := newSample(w.name, inFlight, lat, last.Sub(start), int(d.expired.Load()-expiredBefore))
	s.benchCPU, s.treeCPU = cpu, tree
	return s, nil
}

// runMany runs n tasks, inFlight at a time; the first failure stops the rest.
func (d *driver) runMany(ctx context.Context, w workload, inFlight, n int) ([]taskOutcome, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]taskOutcome, n)
	var next atomic.Int64
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range min(inFlight, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				o, err := d.runTask(ctx, w)
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				out[i] = o
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, ctx.Err()
}
