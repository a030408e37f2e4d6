package tasks

import (
	"encoding/json"
	"errors"

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
	err = s.link.Send(s.ctx, transport.RPC{CallID: id, TaskID: c.t.id, Name: "logNodeOutput", Params: params})
	if big := (*transport.FrameTooBigError)(nil); errors.As(err, &big) {
		// Not sent (the broker would close the connection, losing every task on it): the
		// task fails instead, naming the setting.
		c.m.log.Warn("Task "+c.t.id+": "+big.Error(), "task_id", c.t.id)
		c.m.abortTask(c.t, tooLarge(big))
	}
}
