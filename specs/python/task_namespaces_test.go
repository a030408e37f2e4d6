package python_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"golang.org/x/sys/unix"

	"github.com/runwire/runwire/python"
)

// Attacks on what outlives a task (#10.3, #10.5): each task has PID, IPC and mount namespaces
// of its own where the zygote has namespaces (its init ends what it started; SysV IPC is its
// own; its temp dir is a tmpfs with a size and an inode cap), and a subreaper init otherwise.
// Each spec performs the attack through the real executor; `make walls-unprivileged` runs
// them as a plain user too.

// escapee is task code that starts a process meant to outlive the task: forked, setsid'd and
// forked again (its parent exits at once, so it is in neither the task's process group nor
// its process tree), then prints its pid for hostPIDs.
const escapee = "import os, time\nr, w = os.pipe()\npid = os.fork()\nif pid == 0:\n    os.setsid()\n" +
	"    if os.fork() == 0:\n        os.write(w, str(os.getpid()).encode())\n        os.close(w)\n" +
	"        while True:\n            time.sleep(1)\n    os._exit(0)\nos.waitpid(pid, 0)\nos.close(w)\n" +
	"escaped = int(os.read(r, 32))\nprint(escaped, " + whoami + ")\n"

var _ = Describe("What a task starts", Label("integration", "walls"), func() {
	type ending struct {
		timeout time.Duration
		code    string // after escapee
		stop    func(p *peer, g gate)
		want    func(taskID string) map[string]any
	}
	result := ending{
		timeout: 30 * time.Second,
		code:    "", // filled in below: waits for the gate, then returns
		stop:    func(_ *peer, g gate) { g.open() },
		want:    func(id string) map[string]any { return done(id, `"returned"`) },
	}
	cancel := ending{
		timeout: 30 * time.Second,
		code:    "while True:\n    pass",
		stop:    func(p *peer, _ gate) { p.cancel("T1") },
		want:    func(id string) map[string]any { return failed(id, "Task was cancelled") },
	}
	// 3 s: time for the print that comes first, on a busy machine too.
	timeout := ending{
		timeout: 3 * time.Second,
		code:    "while True:\n    pass",
		stop:    func(*peer, gate) {},
		want:    func(id string) map[string]any { return failed(id, "Task execution timed out after 3 seconds", "") },
	}

	DescribeTable("is gone once the task has ended, also a setsid'd, double-forked process",
		func(ctx SpecContext, e ending) {
			r := newRig(ctx, stdlib("*"), withTaskTimeout(e.timeout))
			p := r.connection()
			Expect(r.py.Ready(ctx)).To(Succeed())
			g := newGate()
			code := e.code
			if code == "" {
				code = g.wait + "\nreturn 'returned'"
			}
			p.start("T1", allItems(escapee+code, g.item))
			params, _ := p.Await("the escaped process's pid", isPrint("T1"))["params"].([]any)
			ps := hostPIDs(params)
			DeferCleanup(func() { killLeftovers(ps...) })
			Expect(alive(ps[0])()).To(Succeed(), "the escaped process runs")

			e.stop(p, g)
			Expect(p.terminal("T1")).To(Equal(e.want("T1")))
			expectGone(ctx, ps...)
			p.healthy("T2")
		},
		Entry("after its result", result, SpecTimeout(slowTimeout)),
		Entry("after a cancel", cancel, SpecTimeout(slowTimeout)),
		Entry("after a timeout", timeout, SpecTimeout(slowTimeout)),
	)
})

var _ = Describe("SysV shared memory", Label("integration", "walls"), func() {
	// The key T1 leaves a note under, and the code that reads it back.
	const key = "0x52570a11"
	leave := "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.shmat.restype = ctypes.c_void_p\n" +
		"sid = libc.shmget(" + key + ", 64 << 20, 0o1666)\nif sid < 0:\n    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))\n" +
		"addr = libc.shmat(sid, None, 0)\nctypes.memmove(addr, b'left by T1', 10)\nctypes.memset(addr + 10, 1, (64 << 20) - 10)\n" +
		"fd = os.open('/proc/sysvipc/shm', os.O_RDONLY)\ntable = os.read(fd, 1 << 20).decode()\nos.close(fd)\n" +
		"listed = [l.split()[0] for l in table.splitlines()[1:]]\n" +
		"return {'listed': str(int('" + key + "', 16)) in listed, 'ipc': os.readlink('/proc/self/ns/ipc')}"
	look := "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nsid = libc.shmget(" + key + ", 0, 0)\n" +
		"return {'found': sid >= 0, 'errno': ctypes.get_errno(), 'ipc': os.readlink('/proc/self/ns/ipc')}"

	It("a task leaves is not there for the next task, and its memory goes with it", func(ctx SpecContext) {
		r := newRig(ctx, stdlib("*"))
		p := r.connection()
		Expect(r.py.Ready(ctx)).To(Succeed())
		if !r.py.Walls().TaskNamespaces {
			// No IPC namespace per task: the seccomp filter refuses SysV IPC (seccomp_test.go).
			message, _, ok := errorOf(p.runCode("T1", leave).terminal)
			Expect(ok).To(BeTrue())
			Expect(message).To(HavePrefix(refusedBy(unix.EPERM)))
			return
		}
		left, _ := resultOf(p.runCode("T1", leave).terminal).(map[string]any)
		Expect(left).To(HaveKeyWithValue("listed", true), "T1 made its 64 MiB segment and sees it")
		seen, _ := resultOf(p.runCode("T2", look).terminal).(map[string]any)
		Expect(seen).To(HaveKeyWithValue("found", false), "T2 cannot find T1's segment")
		Expect(seen).To(HaveKeyWithValue("errno", BeEquivalentTo(2)), "ENOENT: no such key in T2's IPC namespace")
		Expect(seen["ipc"]).NotTo(Equal(left["ipc"]))
		// The segment lived in T1's IPC namespace, which the kernel frees (with the segment)
		// once no process is in it and nothing holds it: none is left on the machine.
		ipc, _ := left["ipc"].(string)
		// Up to 10 s, not reaped's 5 s: the matrix run saw one process stay
		// in T1's namespace past 5 s once in about ten runs (not reproduced alone); holdersOf
		// names each holder's state and parent so that a real leak says what it is.
		Eventually(ctx, func() []string { return holdersOf(ipc) }).WithTimeout(10*time.Second).Should(BeEmpty(), "processes in T1's IPC namespace")
	}, SpecTimeout(specTimeout))
})

// holdersOf lists the host processes whose IPC namespace is ns ("ipc:[inode]"), each as its
// pid and the start of its /proc/<pid>/stat (name, state, parent).
func holdersOf(ns string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if link, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns", "ipc")); err == nil && link == ns {
			stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			out = append(out, e.Name()+": "+strings.Join(strings.Fields(string(stat))[:min(4, len(strings.Fields(string(stat))))], " "))
		}
	}
	return out
}

var _ = Describe("A task's private temp dir", Label("integration", "walls"), func() {
	// onlyTmpfs skips where tasks have no mount namespace of their own: their temp dir is then
	// on the runtime directory's disk, capped per file (RUNWIRE_PYTHON_FILE_SIZE_BYTES) only.
	onlyTmpfs := func(r *rig) {
		GinkgoHelper()
		Expect(r.py.Ready(r.ctx)).To(Succeed())
		if !r.py.Walls().TaskNamespaces {
			Skip("tasks have no mount namespace of their own here: " + r.py.Walls().String())
		}
	}

	It("refuses 200 MiB: ENOSPC at RUNWIRE_PYTHON_TMP_BYTES (100 MiB), over files each under the file cap", func(ctx SpecContext) {
		r := newRig(ctx, stdlib("*"))
		onlyTmpfs(r)
		p := r.connection()
		code := "import os, tempfile\nchunk = b'x' * (1 << 20)\nwritten = 0\ntry:\n    for n in range(4):\n" +
			"        fd = os.open(os.path.join(tempfile.gettempdir(), 'f%d' % n), os.O_CREAT | os.O_WRONLY, 0o600)\n" +
			"        for _ in range(50):\n            os.write(fd, chunk)\n            written += 1\n" +
			"except OSError as e:\n    return {'errno': e.errno, 'mib': written}\nreturn {'errno': 0, 'mib': written}"
		seen, _ := resultOf(p.runCode("T1", code).terminal).(map[string]any)
		Expect(seen).To(HaveKeyWithValue("errno", BeEquivalentTo(28)), "ENOSPC")
		Expect(seen).To(HaveKeyWithValue("mib", BeNumerically("<=", 100)))
		p.healthy("T2")
	}, SpecTimeout(specTimeout))

	It("holds a 70-deep tree and as many small files as its inodes allow out of the machine's view, and nothing of it stays", func(ctx SpecContext) {
		// 16 MiB: 16,384 inodes, which the 300,000 files the task tries run into quickly.
		r := newRig(ctx, stdlib("*"), withEnv("RUNWIRE_PYTHON_TMP_BYTES=16777216"))
		onlyTmpfs(r)
		p := r.connection()
		g := newGate()
		code := "import os, tempfile, time\nd = tempfile.gettempdir()\npath = d\nfor n in range(70):\n" +
			"    path = os.path.join(path, 'd')\n    os.mkdir(path)\nmade = 0\ntry:\n    for n in range(300000):\n" +
			"        os.close(os.open(os.path.join(d, str(n)), os.O_CREAT | os.O_WRONLY, 0o600))\n        made += 1\n" +
			"except OSError as e:\n    stopped = e.errno\nelse:\n    stopped = 0\n" +
			"print(d, made, stopped)\n" + g.wait + "\nreturn 'done'"
		p.start("T1", allItems(code, g.item))
		params, _ := p.Await("the temp dir", isPrint("T1"))["params"].([]any)
		Expect(params).To(HaveLen(3))
		dir, _ := params[0].(string)
		dir = dir[1 : len(dir)-1] // the repr of a str
		Expect(params[2]).To(Equal("28"), "the inode cap stops the files: ENOSPC")
		// While T1 still runs, the machine sees its temp dir empty: the tree is in T1's tmpfs.
		entries, err := os.ReadDir(dir)
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(BeEmpty())
		g.open()
		Expect(p.terminal("T1")).To(Equal(done("T1", `"done"`)))
		p.healthy("T2")
		Eventually(ctx, func() error { _, err := os.Lstat(dir); return err }).Should(MatchError(os.ErrNotExist), "the temp dir is removed")
	}, SpecTimeout(slowTimeout))
})

var _ = Describe("A task's /proc", Label("integration", "walls"), func() {
	// The task stats /proc/<pid> for every pid the host's /proc lists (stat is no read, so
	// Landlock lets it through: only the procfs mounted on /proc decides what is there).
	look := "import os\npids = _items[0]['json']['pids']\n" +
		"return {'self': os.readlink('/proc/self'), 'present': [p for p in pids if os.path.exists('/proc/%d' % p)]}"

	It("is its own PID namespace's: no host process, not runwire, not its init", func(ctx SpecContext) {
		r := newRig(ctx, stdlib("*"))
		p := r.connection()
		Expect(r.py.Ready(ctx)).To(Succeed())
		if !r.py.Walls().TaskNamespaces {
			Skip("no PID and mount namespaces per task here: /proc is the host's, Landlock leaves the task only its own entry (walls_test.go)")
		}
		if why := r.py.Walls().ProcRefused; why != "" {
			Skip("the kernel refuses a procfs of the task's own here (" + why + ", as where a container masks /proc): the tasks keep the zygote's /proc, Landlock leaving them only their own entry")
		}
		me := os.Getpid()
		Expect(me).To(BeNumerically(">", 2), "runwire's pid must not be one the task's namespace has")
		var pids []any
		entries, err := os.ReadDir("/proc")
		Expect(err).NotTo(HaveOccurred())
		for _, e := range entries {
			if pid, err := strconv.Atoi(e.Name()); err == nil && pid != 2 { // 2: the task itself
				pids = append(pids, pid)
			}
		}
		Expect(pids).To(ContainElements(me, 1), "the host's /proc lists runwire and init")
		seen, _ := resultOf(p.run("T1", allItems(look, map[string]any{"json": map[string]any{"pids": pids}})).terminal).(map[string]any)
		Expect(seen).To(HaveKeyWithValue("self", "2"), "the task is pid 2 of its namespace, and /proc says so")
		Expect(seen).To(HaveKeyWithValue("present", BeEmpty()), "no host pid (runwire's %d, 1 included) is in the task's /proc", me)
	}, SpecTimeout(specTimeout))
})

var _ = Describe("A task process that keeps the zygote's /proc", Label("integration", "walls"), func() {
	It("is refused, like every task after it", func(ctx SpecContext) {
		log := gbytes.NewBuffer()
		r := newRig(ctx, stdlib("*"), withLog(log), withOptions(func(o *python.Options) { o.BreakProcForSpecs = true }))
		p := r.connection()
		Expect(r.py.Ready(ctx)).To(Succeed())
		if !r.py.Walls().TaskNamespaces {
			Skip("no PID and mount namespaces per task here: no procfs of its own is expected")
		}
		if why := r.py.Walls().ProcRefused; why != "" {
			Skip("the kernel refuses a procfs of the task's own here (" + why + "): no child is expected to have one, so none can fail to")
		}
		o := p.runCode("T1", "return 1")
		Expect(o.terminal).To(HaveKeyWithValue("type", typeError))
		Expect(o.terminal).To(HaveKeyWithValue("error", HaveKeyWithValue("message", ContainSubstring("/proc: the zygote's"))))
		Eventually(log).WithContext(ctx).WithTimeout(2 * time.Second).Should(gbytes.Say("weaker than the walls the zygote announced"))
		o = p.runCode("T2", "return 2")
		Expect(o.terminal).To(HaveKeyWithValue("type", typeError), "no later task runs either")
	}, SpecTimeout(specTimeout))
})

var _ = Describe("A kernel that refuses each task a procfs of its own", Label("integration", "walls"), func() {
	// As in podman or Kubernetes, whose overmounts on /proc make the kernel refuse a new
	// procfs in a user namespace (EPERM): the zygote's probe says so, and tasks run with the
	// zygote's /proc under RUNWIRE_PYTHON_WALLS=require (the default), the start-up line
	// naming the fallback.
	It("runs tasks with the zygote's /proc, and the start-up line says so", func(ctx SpecContext) {
		refusal := "[Errno 1] mount proc on /proc: Operation not permitted (python.Options.RefuseProcProbeForSpecs)"
		log := gbytes.NewBuffer()
		r := newRig(ctx, stdlib("*"), withLog(log), withOptions(func(o *python.Options) { o.RefuseProcProbeForSpecs = refusal }))
		p := r.connection()
		Expect(r.py.Ready(ctx)).To(Succeed())
		if !r.py.Walls().TaskNamespaces {
			Skip("no PID and mount namespaces per task here: no procfs of its own is probed")
		}
		Expect(r.py.Walls().ProcRefused).To(Equal(refusal))
		fallback := "/proc: the zygote's (a procfs of the task's own was refused: " + refusal + "); "
		if r.py.Walls().Landlock > 0 {
			fallback += "Landlock limits reads to the task's own entry"
		}
		Expect(r.py.Walls().String()).To(ContainSubstring(fallback))
		Eventually(log).WithContext(ctx).WithTimeout(2 * time.Second).Should(gbytes.Say("isolation in force: .*" + regexp.QuoteMeta(fallback)))
		// The task is pid 2 of its own namespace, yet the /proc it sees is the zygote's: there
		// /proc/self is its pid in the zygote's namespace.
		items := resultOf(p.runCode("T1", "import os\nreturn [{'json': {'self': os.readlink('/proc/self')}}]").terminal)
		Expect(items).To(ConsistOf(HaveKeyWithValue("json", HaveKeyWithValue("self", Not(BeElementOf("", "2"))))),
			"the task runs, and its /proc is the zygote's, not one of its own PID namespace")
		p.healthy("T2")
		Expect(string(log.Contents())).NotTo(ContainSubstring("weaker than the walls the zygote announced"))
	}, SpecTimeout(specTimeout))
})
