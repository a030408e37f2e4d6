package python

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"
)

// errZygoteExited is take's answer once the zygote has ended: the executor then waits for the
// next one.
var errZygoteExited = errors.New("the Python zygote has exited")

// Fork retries after the zygote reported a failed fork: they start at forkRetryMin and double
// up to forkRetryMax, so that a fork that keeps failing (a pids limit, no memory) neither
// spins nor gives up; a child that joins the pool resets them.
const (
	forkRetryMin = 50 * time.Millisecond
	forkRetryMax = 2 * time.Second
)

// pool is the zygote's forked children waiting for a task. Its keeper (one goroutine per
// zygote) keeps idle + owed at size after every kind of loss: a task taking a child, a failed
// fork, a child that dies before its hello or is refused, a waiting child that is killed.
type pool struct {
	size int

	mu    sync.Mutex
	idle  []*child
	owed  int           // forks asked for whose child is neither idle nor lost yet
	fails int           // failed forks since a child last joined
	grew  chan struct{} // closed and replaced when a child joins idle
	kick  chan struct{} // capacity 1: the keeper should top the pool up
}

func newPool(size int) *pool {
	return &pool{size: size, grew: make(chan struct{}), kick: make(chan struct{}, 1)}
}

// topUp asks the keeper for a pass; it never blocks.
func (p *pool) topUp() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// lost notes a fork whose child will never join (failed, died, refused).
func (p *pool) lost(forkFailed bool) {
	p.mu.Lock()
	p.owed = max(p.owed-1, 0)
	if forkFailed {
		p.fails++
	}
	p.mu.Unlock()
	p.topUp()
}

// add puts an admitted child in the pool.
func (p *pool) add(c *child) {
	p.mu.Lock()
	p.owed = max(p.owed-1, 0)
	p.fails = 0
	p.idle = append(p.idle, c)
	close(p.grew)
	p.grew = make(chan struct{})
	p.mu.Unlock()
}

// remove drops the waiting child pid (its process ended) and asks for its replacement.
func (p *pool) remove(pid int) {
	p.mu.Lock()
	for i, c := range p.idle {
		if c.pid == pid {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			_ = c.conn.Close()
			break
		}
	}
	p.mu.Unlock()
	p.topUp()
}

// drain empties the pool, for the zygote's close.
func (p *pool) drain() []*child {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.idle
	p.idle = nil
	return out
}

// keep is the keeper: on every kick it asks the zygote for the children the pool lacks,
// after a pause that grows while forks keep failing. It ends with the zygote.
func (z *zygote) keep() {
	defer z.wg.Done()
	for {
		select {
		case <-z.pool.kick:
		case <-z.exited:
			return
		case <-z.refused:
			return // no child will get a task from this zygote: fork none
		}
		z.pool.mu.Lock()
		fails := z.pool.fails
		z.pool.mu.Unlock()
		if fails > 0 {
			pause := min(forkRetryMin<<min(fails-1, 10), forkRetryMax)
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-z.exited:
				t.Stop()
				return
			}
		}
		z.pool.mu.Lock()
		n := z.pool.size - len(z.pool.idle) - z.pool.owed
		if n > 0 {
			z.pool.owed += n
		}
		z.pool.mu.Unlock()
		if n > 0 {
			if err := z.fork(n); err != nil {
				return // the zygote is gone: its end is reported elsewhere
			}
		}
	}
}

// take returns a ready child, waiting for one as long as ctx allows; errZygoteExited once the
// zygote has ended.
func (z *zygote) take(ctx context.Context) (*child, error) {
	for {
		select {
		case <-z.refused:
			return nil, z.refusal // fail closed: not even a child admitted before
		default:
		}
		z.pool.mu.Lock()
		if len(z.pool.idle) > 0 {
			c := z.pool.idle[0]
			z.pool.idle = z.pool.idle[1:]
			z.pool.mu.Unlock()
			z.pool.topUp() // its replacement, off the task's path
			if !waiting(c) {
				// Died while waiting: the exit line's remove is on its way.
				_ = c.conn.Close()
				continue
			}
			return c, nil
		}
		grew := z.pool.grew
		z.pool.mu.Unlock()
		select {
		case <-grew:
		case <-z.exited:
			return nil, errZygoteExited
		case <-z.refused:
			return nil, z.refusal
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// waiting says whether a pooled child is still there to take a task: its exit has not been
// reported, and its end of the connection is open (a killed child's socket closes before the
// zygote reaps it and reports the exit).
func waiting(c *child) bool {
	select {
	case <-c.exit.done:
		return false
	default:
	}
	raw, err := c.conn.SyscallConn()
	if err != nil {
		return false
	}
	open := true
	_ = raw.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = n > 0 || errors.Is(err, syscall.EAGAIN) // 0 and no error: the peer has closed
	})
	return open
}
