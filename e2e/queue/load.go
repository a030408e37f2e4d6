package queue

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/runwire/runwire/e2e/n8n"
)

// Call is one webhook call of a load run.
type Call struct {
	N          int // the call's number, 0 to n-1, which is also what it posts: {"n": N}
	Start, End time.Time
	Status     int
	Body       []byte
	Err        error // the HTTP request failed (no answer)
	NoAnswer   bool  // no answer within CallTimeout
}

// RoundTrip is the call's duration.
func (c Call) RoundTrip() time.Duration { return c.End.Sub(c.Start) }

// CallTimeout bounds one webhook call of Load. n8n 2.41 in queue mode does not always answer:
// when a worker's execution fails because its task runner went away, the main logs "Webhook
// execution failed before a response was sent" and leaves the request open.
const CallTimeout = 90 * time.Second

// Load posts {"n": i} for i in 0..n-1 to the webhook at path, from concurrency goroutines at
// once, and returns every call, in order of N. A call that gets no answer within CallTimeout has
// Err set and NoAnswer true. Load stops early only when ctx ends (the calls not made then have
// Err set to ctx's error). onCall, if not nil, sees each call as it ends.
func Load(ctx context.Context, client *n8n.Client, path string, n, concurrency int, onCall func(Call)) []Call {
	calls := make([]Call, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for i := range next {
				c := Call{N: i, Start: time.Now()}
				callCtx, cancel := context.WithTimeout(ctx, CallTimeout)
				c.Status, c.Body, c.Err = client.Webhook(callCtx, path, map[string]any{"n": i})
				c.NoAnswer = c.Err != nil && ctx.Err() == nil && errors.Is(callCtx.Err(), context.DeadlineExceeded)
				cancel()
				c.End = time.Now()
				calls[i] = c
				if onCall != nil {
					onCall(c)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			for j := i; j < n; j++ {
				calls[j] = Call{N: j, Err: ctx.Err()}
			}
			break feed
		}
	}
	close(next)
	wg.Wait()
	return calls
}

// Span is the time from the first call's start to the last one's end.
func Span(calls []Call) time.Duration {
	var first, last time.Time
	for _, c := range calls {
		if c.Start.IsZero() {
			continue
		}
		if first.IsZero() || c.Start.Before(first) {
			first = c.Start
		}
		if c.End.After(last) {
			last = c.End
		}
	}
	return last.Sub(first)
}

// Percentile is the p-th percentile (0-100) of ds, which it sorts; 0 for none.
func Percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[(len(ds)-1)*p/100]
}
