package python_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The caps of python/runtime/printing.py, as documented in docs/python-executor.md.
const (
	printMax     = 256 << 10
	taskPrintMax = 1 << 20
	truncated    = "... [truncated]"
)

var _ = Describe("Output bounds", Label("integration"), func() {
	// n8n's broker closes the connection with 1009 on a message over N8N_RUNNERS_MAX_PAYLOAD,
	// which fails every task on it: a 200 kB print under a 200 kB limit used to lose a
	// concurrent task of another workflow. Now runwire never sends such a message.
	It("fails only its own task for a print over N8N_RUNNERS_MAX_PAYLOAD; a concurrent task succeeds on the same connection", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("os,time"), withPayloadLimit(200_000)).connection()
		g := newGate()
		p.start("WAITS", allItems("import os, time\nprint('waiting')\n"+g.wait+"\nreturn [{'json': {'ok': True}}]", g.item))
		p.Await("WAITS running", isPrint("WAITS"))

		loud := p.run("LOUD", allItems("print('x' * 200_000)\nreturn [{'json': {'printed': True}}]"))
		message, _, _ := errorOf(loud.terminal)
		Expect(message).To(ContainSubstring("N8N_RUNNERS_MAX_PAYLOAD"))
		Expect(message).To(ContainSubstring("200000 bytes"))

		g.open()
		Expect(p.terminal("WAITS")).To(Equal(done("WAITS", `[{"json":{"ok":true}}]`)))
		Consistently(p.c.Closed()).WithTimeout(quiet).ShouldNot(BeClosed(), "the connection stays up")
		p.healthy("AFTER")
	}, SpecTimeout(specTimeout))

	It("fails a result over N8N_RUNNERS_MAX_PAYLOAD at once, naming the setting, from the child", func(ctx SpecContext) {
		p := newRig(ctx, withPayloadLimit(200_000)).connection()
		p.start("BIG", allItems("return [{'json': {'s': 'x' * 300_000}}]"))
		// The child refuses it: no 2 s wait for a child that runwire's read refused.
		m := p.terminalWithin("BIG", time.Second)
		message, _, _ := errorOf(m)
		Expect(message).To(HavePrefix("The result is too large to send: 300"))
		Expect(message).To(ContainSubstring("N8N_RUNNERS_MAX_PAYLOAD is 200000 bytes"))
		p.healthy("AFTER")
	}, SpecTimeout(specTimeout))

	It("sends a result just under N8N_RUNNERS_MAX_PAYLOAD", func(ctx SpecContext) {
		p := newRig(ctx, withPayloadLimit(200_000)).connection()
		o := p.runCode("FITS", "return [{'json': {'s': 'x' * 199_000}}]")
		Expect(o.terminal).To(HaveKeyWithValue("type", typeDone))
	}, SpecTimeout(specTimeout))

	It("truncates a print at 256 KiB, and a task's prints at 1 MiB, as documented", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.runCode("T1", "print('x' * 400_000, 'second')\n"+
			"for _ in range(4):\n    print('y' * 300_000)\n"+
			"print('not sent')\nreturn []")
		Expect(o.terminal).To(Equal(done("T1", `[]`)))
		Expect(o.prints).To(HaveLen(5), "four prints fill the task's 1 MiB, then the truncation entry")
		Expect(o.prints[0]).To(Equal([]any{"'" + strings.Repeat("x", printMax-1) + truncated, truncated}),
			"the argument that crosses 256 KiB is cut there, the ones after it show only the marker")
		for _, entry := range o.prints[1:4] {
			Expect(entry).To(Equal([]any{"'" + strings.Repeat("y", printMax-1) + truncated}))
		}
		Expect(o.prints[4]).To(Equal([]any{"[Output truncated - 2 more print statements]"}),
			"the last 'y' print and 'not sent' come after the task's 1 MiB: counted, not sent")
		text := 0
		for _, entry := range o.prints[:4] {
			for _, arg := range entry {
				text += len(strings.TrimSuffix(arg.(string), truncated))
			}
		}
		Expect(text).To(Equal(taskPrintMax), "the text sent, markers aside")
	}, SpecTimeout(specTimeout))

	It("keeps the text of a print under the cap whole, multi-byte characters included", func(ctx SpecContext) {
		p := newRig(ctx).connection()
		o := p.runCode("T1", "print('é' * 1000, {'k': 'ü'})\nprint('€' * 100_000)\nreturn []")
		Expect(o.prints[0]).To(Equal([]any{"'" + strings.Repeat("é", 1000) + "'", `{"k": "ü"}`}))
		// 100,000 × 3 bytes is over 256 KiB: cut on a character boundary.
		Expect(o.prints[1]).To(Equal([]any{"'" + strings.Repeat("€", (printMax-1)/3) + truncated}))
	}, SpecTimeout(specTimeout))

	// Code that reaches the OS can write any frame it likes on its channel to runwire: the
	// caps are the child's, so runwire checks them too, before it reads such a frame.
	It("stops a task whose process writes a print frame over the cap itself", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*")).connection()
		o := p.runCode("FORGER", "import os\n"+
			"def socket(n):\n    try:\n        return os.readlink('/proc/self/fd/' + n).startswith('socket:')\n"+
			"    except OSError:\n        return False  # the listing's own descriptor, closed by now\n"+
			"fd = next(int(n) for n in os.listdir('/proc/self/fd') if socket(n))\n"+
			"body = b'{\"type\":\"print\",\"args\":[\"' + b'z' * 3_000_000 + b'\"]}'\n"+
			"data = len(body).to_bytes(4, 'big') + body\n"+
			"while data:\n    data = data[os.write(fd, data):]\n"+
			"return []")
		message, _, _ := errorOf(o.terminal)
		Expect(message).To(Equal("The task sent a print() of 3000028 bytes, over runwire's cap of 1576960: its Python process did not keep to the protocol"))
		Expect(o.prints).To(BeEmpty(), "nothing of it reached the broker")
		p.healthy("AFTER")
	}, SpecTimeout(specTimeout))
})
