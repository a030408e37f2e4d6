package main

import (
	"context"
	"sync"
	"time"
)

// offerMargin is how much validity an offer must have left to be accepted: an offer that
// expires while the accept is on its way is rejected by the runner.
const offerMargin = 250 * time.Millisecond

// offer is one runner:taskoffer, with its expiry on the broker's clock.
type offer struct {
	id       string
	taskType string
	expires  time.Time
}

// offerPool holds a connection's open offers, first come first served, as n8n's broker
// matches them.
type offerPool struct {
	mu     sync.Mutex
	open   []offer
	notify chan struct{} // a token whenever an offer may be waiting
}

func newOfferPool() *offerPool { return &offerPool{notify: make(chan struct{}, 1)} }

func (p *offerPool) add(o offer) {
	p.mu.Lock()
	p.open = append(p.open, o)
	p.mu.Unlock()
	p.signal()
}

func (p *offerPool) signal() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// take returns the oldest offer of taskType that is still valid, waiting for one if needed.
// Expired offers are dropped, as n8n's broker prunes them.
func (p *offerPool) take(ctx context.Context, taskType string, closed <-chan struct{}) (offer, bool) {
	for {
		now := time.Now()
		p.mu.Lock()
		kept := p.open[:0]
		var got offer
		found := false
		for _, o := range p.open {
			switch {
			case now.Add(offerMargin).After(o.expires):
				// expired: dropped
			case !found && o.taskType == taskType:
				got, found = o, true
			default:
				kept = append(kept, o)
			}
		}
		p.open = kept
		more := len(p.open) > 0
		p.mu.Unlock()
		if found {
			if more {
				p.signal() // another driver may be waiting for the rest
			}
			return got, true
		}
		select {
		case <-p.notify:
		case <-ctx.Done():
			return offer{}, false
		case <-closed:
			return offer{}, false
		}
	}
}
