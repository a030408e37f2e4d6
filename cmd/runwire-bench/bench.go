package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
)

// bench is one run of the tool.
type bench struct {
	opts      options
	authToken string
	environ   []string
	broker    *broker
	rep       *report
	logCopy   io.Writer // --runwire-log, or nil

	mu    sync.Mutex
	procs []*runwireProc
	done  map[*runwireProc]bool
}

func (b *bench) run(ctx context.Context) error {
	ws, err := workloads(b.opts.trivial, b.opts.allItems, b.opts.perItem, b.opts.prints)
	if err != nil {
		return err
	}
	b.rep.machine = machineInfo()
	b.rep.loadBefore = loadAverage()
	defer func() { b.rep.loadAfter = loadAverage() }()
	if b.opts.cold > 0 {
		if err := b.benchCold(ctx, ws[0]); err != nil {
			return err
		}
	}
	if b.opts.coldOnly {
		return nil
	}
	if b.opts.preloadTasks > 0 {
		if err := b.benchPreload(ctx); err != nil {
			return err
		}
	}
	if b.opts.preloadOnly {
		return nil
	}
	if err := b.benchStarts(ctx, ws[0]); err != nil {
		return err
	}
	for _, inFlight := range b.opts.levels {
		if err := b.benchLevel(ctx, inFlight, ws); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) track(p *runwireProc) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.procs = append(b.procs, p)
}

// finish stops p (once) and notes anything odd about its end and its connection.
func (b *bench) finish(p *runwireProc, c *runnerConn) stopReport {
	if c != nil {
		c.goAwayIfBusy()
	}
	rep := p.stop(b.opts.stopGrace)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done == nil {
		b.done = map[*runwireProc]bool{}
	}
	if b.done[p] {
		return rep
	}
	b.done[p] = true
	if p.python() != "" {
		b.rep.python = p.python()
	}
	if v := p.logs.field("version"); v != "" {
		b.rep.runwireVersion = v
	}
	if iso := p.logs.field("isolation"); iso != "" {
		b.rep.isolation = iso
	}
	if boot := p.logs.field("python_boot"); boot != "" {
		b.rep.pythonBoots = append(b.rep.pythonBoots, boot)
	}
	if rep.killed {
		b.rep.odd("runwire (pid %d) did not exit within %s of SIGTERM: killed", p.pid, b.opts.stopGrace)
	} else if rep.exitErr != nil {
		b.rep.odd("runwire (pid %d) ended with %v after SIGTERM", p.pid, rep.exitErr)
	}
	for _, l := range rep.leftovers {
		b.rep.odd("pid %d (%s, a descendant of runwire) was still alive 2 s after runwire exited: killed", l.pid, l.name)
	}
	for _, w := range p.logs.warnings() {
		b.rep.odd("runwire logged: %s", w)
	}
	if c != nil {
		for _, s := range c.protocolErrors() {
			b.rep.odd("broker received: %s", s)
		}
	}
	return rep
}

// stopAll stops every runwire still running: the path out on an error or a Ctrl-C.
func (b *bench) stopAll() {
	b.mu.Lock()
	procs := append([]*runwireProc(nil), b.procs...)
	b.mu.Unlock()
	for _, p := range procs {
		p.stop(b.opts.stopGrace)
	}
}

// withLogs adds runwire's last log lines to err.
func (b *bench) withLogs(p *runwireProc, err error) error {
	if tail := p.logs.lastLines(); tail != "" {
		return fmt.Errorf("%w\nrunwire's last log lines:\n%s", err, tail)
	}
	return err
}

func (b *bench) progress(format string, args ...any) {
	if !b.opts.quiet {
		fmt.Fprintf(os.Stderr, "runwire-bench: "+format+"\n", args...)
	}
}
