package python_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("A task process that crashes", Label("integration"), func() {
	DescribeTable("is reported by how it ended, and the runner goes on",
		func(ctx SpecContext, code string, want func(taskID string) map[string]any) {
			p := newRig(ctx, stdlib("*")).connection()
			Expect(p.runCode("T1", code).terminal).To(Equal(want("T1")))
			p.healthy("T2")
		},
		Entry("os._exit(3): Task subprocess exited with code 3", "import os\nos._exit(3)",
			func(id string) map[string]any { return failed(id, "Task subprocess exited with code 3", "") }, SpecTimeout(specTimeout)),
		Entry("os._exit(0) without a result: n8n's no-result message", "import os\nos._exit(0)",
			func(id string) map[string]any {
				return failed(id, "Process completed but returned no result. This is likely an internal error.", "")
			}, SpecTimeout(specTimeout)),
		Entry("SIGKILL: Process was forcefully killed (SIGKILL)", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
			func(id string) map[string]any { return failed(id, "Process was forcefully killed (SIGKILL)", "") }, SpecTimeout(specTimeout)),
		Entry("a segmentation fault: the signal as a negative exit code, and named", "import ctypes\nctypes.string_at(0)",
			func(id string) map[string]any {
				return failed(id, "Task subprocess exited with code -11 (killed by signal 11, SIGSEGV: segmentation fault)", "")
			}, SpecTimeout(specTimeout)),
	)

	It("with continue-on-fail, reports the crash as an error item", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*")).connection()
		Expect(p.run("T1", continueOnFail(allItems("import os\nos._exit(3)"))).terminal).
			To(Equal(doneWithError("T1", "Task subprocess exited with code 3")))
	}, SpecTimeout(specTimeout))
})

var _ = Describe("Resource limits", Label("integration"), func() {
	DescribeTable("a memory bomb under RUNWIRE_PYTHON_MEMORY_BYTES fails its task, not the runner",
		func(ctx SpecContext, code string) {
			p := newRig(ctx, withEnv("RUNWIRE_PYTHON_MEMORY_BYTES=268435456")).connection()
			o := p.runCode("T1", code)
			// str(MemoryError()) is "", and so is n8n's message for it: runwire names the limit.
			Expect(o.terminal).To(Equal(failed("T1", "The task ran out of memory: each task may use 268435456 bytes (RUNWIRE_PYTHON_MEMORY_BYTES)", "")))
			p.healthy("T2")
		},
		Entry("one 1 GiB allocation", "x = bytearray(1 << 30)", SpecTimeout(specTimeout)),
		Entry("growing 1 MiB at a time", "hoard = []\nwhile True:\n    hoard.append(bytearray(1 << 20))", SpecTimeout(specTimeout)),
	)

	It("stops a busy loop at RUNWIRE_PYTHON_CPU_SECONDS, well before the task timeout", func(ctx SpecContext) {
		p := newRig(ctx, withEnv("RUNWIRE_PYTHON_CPU_SECONDS=1"), withTaskTimeout(30*time.Second)).connection()
		p.start("T1", allItems("while True:\n    pass"))
		Expect(p.terminalWithin("T1", 10*time.Second)).
			To(Equal(failed("T1", "Task used more than 1 seconds of CPU time (RUNWIRE_PYTHON_CPU_SECONDS)", "")))
		p.healthy("T2")
	}, SpecTimeout(slowTimeout))

	It("names the CPU limit when the task ignores SIGXCPU and the kernel kills it at the hard limit", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*"), withEnv("RUNWIRE_PYTHON_CPU_SECONDS=1"), withTaskTimeout(30*time.Second)).connection()
		// The hard RLIMIT_CPU (soft + 1 s) is a SIGKILL: without the child's CPU time this
		// reads as any other kill.
		p.start("T1", allItems("import signal\nsignal.signal(signal.SIGXCPU, lambda *_: print('survived SIGXCPU'))\nwhile True:\n    pass"))
		Expect(p.terminalWithin("T1", 10*time.Second)).
			To(Equal(failed("T1", "Task used more than 1 seconds of CPU time (RUNWIRE_PYTHON_CPU_SECONDS)", "")))
		Expect(p.All()).To(ContainElement(And(HaveKeyWithValue("name", "logNodeOutput"), HaveKeyWithValue("params", ContainElement("'survived SIGXCPU'")))),
			"the soft limit's SIGXCPU did not end the task: the hard limit's SIGKILL did")
		p.runsLate("T2")
	}, SpecTimeout(slowTimeout))

	It("refuses more open files than RUNWIRE_PYTHON_OPEN_FILES", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*"), withEnv("RUNWIRE_PYTHON_OPEN_FILES=32")).connection()
		o := p.runCode("T1", "import os\nfds = [os.open(\"/dev/null\", os.O_RDONLY) for _ in range(64)]")
		Expect(o.terminal).To(Equal(failed("T1", "[Errno 24] Too many open files: '/dev/null'", "")))
		p.healthy("T2")
	}, SpecTimeout(specTimeout))

	It("refuses to grow a file past RUNWIRE_PYTHON_FILE_SIZE_BYTES", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*"), withEnv("RUNWIRE_PYTHON_FILE_SIZE_BYTES=1024")).connection()
		o := p.runCode("T1", "import os, tempfile\nfd, path = tempfile.mkstemp()\nfor _ in range(4):\n    os.write(fd, b\"x\" * 1024)")
		Expect(o.terminal).To(Equal(failed("T1", "[Errno 27] File too large", "")))
		p.healthy("T2")
	}, SpecTimeout(specTimeout))

	It("stops a fork bomb at RUNWIRE_PYTHON_PROCESSES, also when runwire runs as root", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*"), withEnv("RUNWIRE_PYTHON_PROCESSES=5")).connection()
		code := "import os, time\nkids = []\nerror = None\ntry:\n    for _ in range(50):\n        pid = os.fork()\n" +
			"        if pid == 0:\n            time.sleep(30)\n            os._exit(0)\n        kids.append(pid)\n" +
			"except OSError as e:\n    error = str(e)\nfor k in kids:\n    os.kill(k, 9)\nreturn {\"forked\": len(kids), \"error\": error}"
		seen, _ := resultOf(p.runCode("T1", code).terminal).(map[string]any)
		Expect(seen).To(HaveKeyWithValue("error", ContainSubstring("Resource temporarily unavailable")))
		Expect(seen).To(HaveKeyWithValue("forked", BeNumerically("<", 5)))
		p.healthy("T2")
	}, SpecTimeout(specTimeout))
})
