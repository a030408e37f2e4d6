package tasks

import (
	"encoding/json"

	"github.com/runwire/runwire/transport"
)

// console forwards one task's print calls as runner:rpc logNodeOutput, from the executor's
// goroutine, so they reach the broker in order and before the task's result.
type console struct {
	m *Manager
	t *task
}

func (c console) Print(args ...string) {
	if args == nil {
		args = []string{}
	}
	params, err := json.Marshal(args)
	if err != nil {
		return // []string always marshals
	}
	id := transport.NewID()
	c.m.mu.Lock()
	if c.m.tasks[c.t.id] != c.t {
		c.m.mu.Unlock()
		return // the task has already reported
	}
	c.m.calls[id] = c.t.id
	c.t.calls = append(c.t.calls, id)
	c.m.mu.Unlock()
	s := c.t.sess
	_ = s.link.Send(s.ctx, transport.RPC{CallID: id, TaskID: c.t.id, Name: "logNodeOutput", Params: params})
}
