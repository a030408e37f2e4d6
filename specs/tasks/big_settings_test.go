package tasks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/coder/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/specs/support"
	"github.com/runwire/runwire/tasks"
)

var _ = Describe("Big settings", Label("integration"), func() {
	// The settings of one task may be hundreds of MB (n8n sends every input item). Reading
	// what the manager needs of them (continueOnFail, the node's names) used to happen under
	// the manager's lock, in the connection's listen goroutine, so every other task waited
	// for it. Now the big task's own goroutine does it, and a trivial task that arrives just
	// after is done first.
	//
	// 32 MB of small items, not 200 MB: the race detector makes the frame's decode in the
	// connection's reader (one validating pass, unavoidable) take about 17 s for 200 MB here.
	It("do not hold up a trivial task that arrives after them", func(ctx SpecContext) {
		// Not the fake executor: it reads all of every task's settings before it begins.
		ex := tasks.ExecutorFunc(func(_ context.Context, t tasks.Task, console tasks.Console) (json.RawMessage, error) {
			if t.ID == "BIG" {
				console.Print("BIG runs") // the first thing it does: the mark of its start on the wire
				return nil, errors.New("boom")
			}
			return support.FakeResult, nil
		})
		r := newRig(ctx, withMax(2), withMaxPayload(64<<20), withExecutor(taskType, ex))
		p := r.connection()
		p.mustAccept("BIG")
		p.mustAccept("SMALL")

		var frame bytes.Buffer
		frame.WriteString(`{"type":"broker:tasksettings","taskId":"BIG","settings":{"code":"return items","nodeMode":"runOnceForAllItems","items":[`)
		item := []byte(`{"json":{"n":1,"s":"ab[c]{d}\"e"}},`)
		for frame.Len() < 32<<20 {
			frame.Write(item)
		}
		frame.WriteString(`{"json":{}}],"continueOnFail":true,"nodeName":"Big"}}`)
		Expect(p.c.SendRaw(ctx, websocket.MessageText, frame.Bytes())).To(Succeed())
		p.settings("SMALL", pySettings())

		small := p.terminal("SMALL")
		Expect(small).To(Equal(done("SMALL", support.FakeResult)))
		Expect(p.terminal("BIG")).To(Equal(doneWithError("BIG", "boom")), "continueOnFail, read from after the items")
		seen := p.All()
		smallDone := slices.IndexFunc(seen, isTerminal("SMALL"))
		bigRuns := slices.IndexFunc(seen, func(m map[string]any) bool { return m["type"] == typeRPC && m["taskId"] == "BIG" })
		Expect(bigRuns).To(BeNumerically(">", smallDone), "SMALL's result goes out before BIG's executor has its settings; "+p.Dump())
	}, SpecTimeout(specTimeout*3))
})
