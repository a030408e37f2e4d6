package python

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// defaultIdleRelease is Options.IdleRelease's default.
const defaultIdleRelease = time.Second

// idleRelease returns the Go heap's free memory to the operating system once no task has run
// for a while. A burst of tasks (a 1,000-item payload is a few hundred kB of JSON, decoded and
// copied several times) leaves the heap's high-water mark resident: the runtime keeps about
// the heap goal's worth of freed pages for reuse (at least 4 MiB) and would only give back
// the rest slowly. Once idle, that is runwire's largest avoidable cost; giving it back takes
// one garbage collection of a heap of well under a megabyte, and the next burst faults in
// again only what it uses.
type idleRelease struct {
	after time.Duration // <= 0: never
	log   *slog.Logger

	mu        sync.Mutex
	running   int // tasks in Execute
	timer     *time.Timer
	closed    bool
	releasing sync.WaitGroup
}

// idle arms the timer when no task is running.
func (r *idleRelease) idle() {
	if r.after <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.running > 0 {
		return
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(r.after, r.fire)
	} else {
		r.timer.Reset(r.after)
	}
}

// begin notes a task starting: no release while one runs.
func (r *idleRelease) begin() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.running++
	if r.timer != nil {
		r.timer.Stop()
	}
}

// end notes a task ending, and arms the timer if it was the last one.
func (r *idleRelease) end() {
	r.mu.Lock()
	r.running--
	r.mu.Unlock()
	r.idle()
}

func (r *idleRelease) fire() {
	r.mu.Lock()
	if r.closed || r.running > 0 {
		r.mu.Unlock()
		return
	}
	r.releasing.Add(1)
	r.mu.Unlock()
	defer r.releasing.Done()

	if !r.log.Enabled(context.Background(), slog.LevelDebug) {
		debug.FreeOSMemory()
		return
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	debug.FreeOSMemory()
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	r.log.Debug("Idle: returned free memory to the operating system",
		"released_kib", (int64(after.HeapReleased)-int64(before.HeapReleased))/1024, //nolint:gosec // heap sizes fit
		"heap_in_use_kib", after.HeapInuse/1024, "took", took.String())
}

// close stops the timer and waits for a release under way.
func (r *idleRelease) close() {
	r.mu.Lock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
	}
	r.mu.Unlock()
	r.releasing.Wait()
}
