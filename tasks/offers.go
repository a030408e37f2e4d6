package tasks

import (
	"math/rand/v2"
	"time"

	"github.com/runwire/runwire/transport"
)

// offerPass drops expired offers and tops open offers + tasks up to MaxConcurrency. Only the
// connection's offer loop calls it, so offers go out in one order.
func (m *Manager) offerPass(s *session) {
	now := time.Now()
	m.mu.Lock()
	types := m.availableTypes()
	if m.sess != s || s.draining || m.stopping || len(types) == 0 {
		m.mu.Unlock()
		return
	}
	for id, o := range m.offers {
		if now.After(o.expires) {
			delete(m.offers, id)
		}
	}
	n := m.opts.MaxConcurrency - len(m.offers) - len(m.tasks)
	out := make([]transport.TaskOffer, 0, max(n, 0))
	for range n {
		validFor := m.opts.OfferValidity
		if j := m.opts.OfferJitter.Milliseconds(); j > 0 {
			validFor += time.Duration(rand.Int64N(j+1)) * time.Millisecond //nolint:gosec // jitter, not a secret
		}
		typ := types[m.next%len(types)]
		m.next++
		id := transport.NewID()
		m.offers[id] = offer{taskType: typ, expires: now.Add(validFor + OfferLatencyBuffer)}
		out = append(out, transport.TaskOffer{OfferID: id, TaskType: typ, ValidFor: int(validFor.Milliseconds())})
	}
	m.mu.Unlock()
	for _, o := range out {
		if err := s.link.Send(s.ctx, o); err != nil {
			return // the connection is ending; serve cleans up
		}
	}
}

// accept answers broker:taskofferaccept at once: the broker gives up after 2 s.
func (m *Manager) accept(msg transport.TaskOfferAccept) {
	now := time.Now()
	m.mu.Lock()
	s := m.sess
	if s == nil {
		m.mu.Unlock()
		return
	}
	o, known := m.offers[msg.OfferID]
	reason := ""
	switch {
	case s.draining || m.stopping:
		reason = RejectShuttingDown
	case !known || now.After(o.expires):
		delete(m.offers, msg.OfferID)
		reason = RejectOfferExpired
	case len(m.tasks) >= m.opts.MaxConcurrency || m.tasks[msg.TaskID] != nil:
		reason = RejectNoSlots
	case !m.available(o.taskType):
		delete(m.offers, msg.OfferID)
		reason = RejectUnavailable
	default:
		delete(m.offers, msg.OfferID)
		t := newTask(msg.TaskID, o.taskType, s)
		m.tasks[t.id] = t
		t.settingsTimer = time.AfterFunc(m.opts.SettingsTimeout, func() { m.settingsExpired(t) })
	}
	m.mu.Unlock()

	if reason != "" {
		m.logRejected(msg.TaskID, reason)
		if m.opts.Observer != nil {
			typ := o.taskType
			if !known {
				typ = "unknown"
			}
			m.opts.Observer.TaskRejected(typ)
		}
		_ = s.link.Send(s.ctx, transport.TaskRejected{TaskID: msg.TaskID, Reason: reason})
		return
	}
	m.log.Debug("Accepted task " + msg.TaskID)
	_ = s.link.Send(s.ctx, transport.TaskAccepted{TaskID: msg.TaskID})
	s.link.ResetIdle()
}

// availableTypes are the task types whose executor can take tasks now.
func (m *Manager) availableTypes() []string {
	out := m.types[:0:0]
	for _, typ := range m.types {
		if m.available(typ) {
			out = append(out, typ)
		}
	}
	return out
}

// available says whether the executor of typ can take tasks now.
func (m *Manager) available(typ string) bool {
	a, ok := m.opts.Executors[typ].(Availability)
	return !ok || a.Available()
}
