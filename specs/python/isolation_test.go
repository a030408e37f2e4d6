package python_test

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/types"
)

// environ is the task code that returns what it can see of its environment: os.environ and,
// raw, the environment the process started with.
// environ is task code that returns os.environ and the environment the process started with,
// read from its own memory (between env_start and env_end of /proc/self/stat) as code with
// ctypes can, since /proc/self/environ is closed to it (the task is not dumpable): what a
// process started with stays there whatever os.environ says later.
const environ = "import os, ctypes\nfd = os.open(\"/proc/self/stat\", os.O_RDONLY)\nstat = os.read(fd, 4096).decode()\nos.close(fd)\n" +
	"fields = stat[stat.rindex(\")\") + 2:].split()\nstart, end = int(fields[47]), int(fields[48])\n" +
	"raw = ctypes.string_at(start, end - start)\n" +
	"return {\"environ\": dict(os.environ), \"initial\": raw.decode(\"utf-8\", \"replace\")}"

var _ = Describe("Secrets and environment", Label("integration"), func() {
	const grantToken = "spec-grant-token-c0ffee"

	DescribeTable("user code never sees the broker secrets, even with N8N_BLOCK_RUNNER_ENV_ACCESS=false",
		func(ctx SpecContext, extra func() []string) {
			env := append([]string{
				"N8N_BLOCK_RUNNER_ENV_ACCESS=false",
				"N8N_RUNNERS_STDLIB_ALLOW=*",
				"SPEC_VISIBLE=yes",
			}, extra()...)
			p := newRig(ctx, withEnv(env...)).connection()
			seen, ok := resultOf(p.runCode("T1", environ).terminal).(map[string]any)
			Expect(ok).To(BeTrue())
			environ, _ := seen["environ"].(map[string]any)
			initial, _ := seen["initial"].(string)

			Expect(environ).To(HaveKeyWithValue("SPEC_VISIBLE", "yes"), "an ordinary variable is visible")
			Expect(initial).To(ContainSubstring("SPEC_VISIBLE=yes"))
			for _, name := range []string{"N8N_RUNNERS_AUTH_TOKEN", "N8N_RUNNERS_GRANT_TOKEN", "N8N_RUNNERS_AUTH_TOKEN_FILE", "N8N_RUNNERS_GRANT_TOKEN_FILE"} {
				Expect(environ).NotTo(HaveKey(name))
				Expect(initial).NotTo(ContainSubstring(name + "="))
			}
			for _, secret := range []string{authToken, grantToken} {
				Expect(initial).NotTo(ContainSubstring(secret))
				for name, value := range environ {
					Expect(value).NotTo(ContainSubstring(secret), name)
				}
			}
		},
		Entry("the secrets as variables", func() []string {
			return []string{"N8N_RUNNERS_GRANT_TOKEN=" + grantToken} // the rig sets N8N_RUNNERS_AUTH_TOKEN
		}, SpecTimeout(specTimeout)),
		Entry("the secrets' _FILE forms", func() []string {
			path := filepath.Join(GinkgoT().TempDir(), "grant")
			Expect(os.WriteFile(path, []byte(grantToken+"\n"), 0o600)).To(Succeed())
			return []string{"N8N_RUNNERS_GRANT_TOKEN_FILE=" + path}
		}, SpecTimeout(specTimeout)),
	)

	// A task that learns or guesses the path of a mounted token file (outside the system's and
	// Python's own directories) cannot read it, even with os at hand; the system's files stay
	// readable.
	It("user code cannot read the file N8N_RUNNERS_AUTH_TOKEN_FILE or N8N_RUNNERS_GRANT_TOKEN_FILE names", func(ctx SpecContext) {
		path := filepath.Join(GinkgoT().TempDir(), "grant")
		Expect(os.WriteFile(path, []byte(grantToken+"\n"), 0o600)).To(Succeed())
		p := newRig(ctx, stdlib("*"), withEnv("N8N_RUNNERS_GRANT_TOKEN_FILE="+path)).connection()
		code := "import os\nout = {}\nfor key in (\"secret\", \"system\"):\n" +
			"    try:\n        fd = os.open(_items[0][\"json\"][key], os.O_RDONLY)\n        out[key] = os.read(fd, 200).decode()\n" +
			"    except OSError as e:\n        out[key] = \"refused: errno %d\" % e.errno\n" +
			"return out"
		o := p.run("T1", allItems(code, map[string]any{"json": map[string]any{"secret": path, "system": "/etc/os-release"}}))
		got, _ := resultOf(o.terminal).(map[string]any)
		Expect(got).To(HaveKeyWithValue("secret", "refused: errno 13"), "EACCES")
		Expect(got).To(HaveKeyWithValue("system", ContainSubstring("NAME=")), "the system's files stay readable")
	}, SpecTimeout(specTimeout))

	It("clears the environment by default, keeping only N8N_RUNNER_ENV_ALLOW names", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*"), withEnv("RUNWIRE_SPEC_VISIBLE=yes", "SPEC_KEEP_ME=kept", "N8N_RUNNER_ENV_ALLOW=SPEC_KEEP_ME")).connection()
		seen, _ := resultOf(p.runCode("T1", environ).terminal).(map[string]any)
		// Not even TMPDIR: tempfile learns the private temp dir another way (parity_test.go).
		Expect(seen["environ"]).To(Equal(map[string]any{"SPEC_KEEP_ME": "kept"}), "no other variable")
	}, SpecTimeout(specTimeout))
})

var _ = Describe("A fresh process per task", Label("integration"), func() {
	It("keeps nothing from one task to the next: module state and the process are new", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*")).connection()
		first, _ := resultOf(p.runCode("T1", "import os, json\njson.left_behind = \"by T1\"\nreturn {\"pid\": os.getpid(), \"ns\": "+whoami+"}").terminal).(map[string]any)
		second, _ := resultOf(p.runCode("T2", "import os, json\ntry:\n    left = json.left_behind\nexcept AttributeError:\n    left = None\n"+
			"return {\"pid\": os.getpid(), \"ns\": "+whoami+", \"left\": left}").terminal).(map[string]any)
		Expect(second).To(HaveKeyWithValue("left", BeNil()), "the module attribute T1 set")
		Expect(first).To(HaveKey("pid"))
		Expect([]any{second["pid"], second["ns"]}).NotTo(Equal([]any{first["pid"], first["ns"]}), "another process")
	}, SpecTimeout(specTimeout))
})

var _ = Describe("Operating-system walls", Label("integration"), func() {
	It("are logged once the executor has booted, as Walls reports them", func(ctx SpecContext) {
		log := gbytes.NewBuffer()
		r := newRig(ctx, withLog(log))
		Expect(r.py.Ready(ctx)).To(Succeed())
		line := "Python task isolation in force: " + r.py.Walls().String()
		Eventually(log).WithContext(ctx).WithTimeout(2*time.Second).Should(gbytes.Say(regexp.QuoteMeta(line)), "the line comes before Ready returns")
	}, SpecTimeout(specTimeout))

	// try is task code that runs a statement and returns whether it raised OSError.
	try := func(statement string) string {
		return "import os, socket, signal\nj = _items[0][\"json\"]\ntry:\n    " + statement +
			"\n    return {\"refused\": False}\nexcept OSError as e:\n    return {\"refused\": True, \"error\": str(e)}"
	}
	refused := func(errorText types.GomegaMatcher) types.GomegaMatcher {
		return And(HaveKeyWithValue("refused", true), HaveKeyWithValue("error", errorText))
	}

	Describe("the network", func() {
		connect := try("s = socket.create_connection((j[\"host\"], j[\"port\"]), timeout=2)\n    s.close()")

		It("is out of reach by default: no TCP connection, not even to the broker on loopback", func(ctx SpecContext) {
			r := newRig(ctx, stdlib("*"))
			p := r.connection()
			host, port := brokerAddress(r)
			o := p.run("T1", allItems(connect, map[string]any{"json": map[string]any{"host": host, "port": port}}))
			Expect(resultOf(o.terminal)).To(refused(Not(BeEmpty())))
		}, SpecTimeout(specTimeout))

		It("is out of reach by default: no UDP either", func(ctx SpecContext) {
			r := newRig(ctx, stdlib("*"))
			p := r.connection()
			host, port := brokerAddress(r)
			code := try("s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n    s.sendto(b\"x\", (j[\"host\"], j[\"port\"]))")
			o := p.run("T1", allItems(code, map[string]any{"json": map[string]any{"host": host, "port": port}}))
			Expect(resultOf(o.terminal)).To(refused(Not(BeEmpty())))
		}, SpecTimeout(specTimeout))

		It("is there with RUNWIRE_PYTHON_NETWORK=allow", func(ctx SpecContext) {
			r := newRig(ctx, stdlib("*"), withEnv("RUNWIRE_PYTHON_NETWORK=allow"))
			p := r.connection()
			host, port := brokerAddress(r)
			o := p.run("T1", allItems(connect, map[string]any{"json": map[string]any{"host": host, "port": port}}))
			Expect(resultOf(o.terminal)).To(Equal(map[string]any{"refused": false}))
		}, SpecTimeout(specTimeout))
	})

	Describe("the file system", func() {
		write := try("fd = os.open(j[\"path\"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)\n    os.write(fd, b\"written by a task\")")

		DescribeTable("is read-only outside the task's private temp dir",
			func(ctx SpecContext, target func(p *peer) string) {
				p := newRig(ctx, stdlib("*")).connection()
				path := target(p)
				before, _ := os.ReadFile(path)
				o := p.run("T1", allItems(write, map[string]any{"json": map[string]any{"path": path}}))
				Expect(resultOf(o.terminal)).To(refused(ContainSubstring("Permission denied")))
				after, _ := os.ReadFile(path)
				Expect(after).To(Equal(before), "the file is as it was")
				p.healthy("T2")
			},
			Entry("a new file in a directory of the machine's", func(*peer) string {
				return filepath.Join(GinkgoT().TempDir(), "planted")
			}, SpecTimeout(specTimeout)),
			Entry("the runtime the next tasks load (child.py, in the working directory)", func(p *peer) string {
				dir, _ := resultOf(p.runCode("T0", "import os\nreturn os.getcwd()").terminal).(string)
				path := filepath.Join(dir, "child.py")
				Expect(path).To(BeARegularFile())
				return path
			}, SpecTimeout(specTimeout)),
		)

		It("is writable in the task's private temp dir, which is gone once the task has ended", func(ctx SpecContext) {
			p := newRig(ctx, stdlib("*")).connection()
			o := p.runCode("T1", "import os, tempfile\nfd, path = tempfile.mkstemp()\nos.write(fd, b\"scratch\")\nos.close(fd)\n"+
				"return {\"path\": path, \"dir\": tempfile.gettempdir(), \"size\": os.path.getsize(path)}")
			seen, _ := resultOf(o.terminal).(map[string]any)
			Expect(seen).To(HaveKeyWithValue("size", BeEquivalentTo(7)))
			dir, _ := seen["dir"].(string)
			Expect(dir).To(HavePrefix(os.TempDir()))
			Eventually(ctx, func() error { _, err := os.Stat(dir); return err }).Should(MatchError(os.ErrNotExist), "the temp dir is removed")

			o = p.runCode("T2", "import tempfile\nreturn tempfile.gettempdir()")
			Expect(resultOf(o.terminal)).NotTo(Equal(dir), "each task gets its own")
		}, SpecTimeout(specTimeout))

		It("is removed with whatever the task left in it, without following its symbolic links", func(ctx SpecContext) {
			outside := GinkgoT().TempDir()
			keep := filepath.Join(outside, "keep")
			Expect(os.WriteFile(keep, []byte("kept"), 0o600)).To(Succeed())
			p := newRig(ctx, stdlib("*")).connection()
			code := "import os, tempfile\nd = tempfile.gettempdir()\nos.makedirs(os.path.join(d, 'a', 'b', 'c'))\n" +
				"fd = os.open(os.path.join(d, 'a', 'b', 'c', 'f'), os.O_WRONLY | os.O_CREAT)\nos.write(fd, b'x')\nos.close(fd)\n" +
				"os.symlink(_items[0]['json']['outside'], os.path.join(d, 'a', 'dirlink'))\n" +
				"os.symlink(_items[0]['json']['keep'], os.path.join(d, 'filelink'))\n" +
				"return {'dir': d}"
			o := p.run("T1", allItems(code, map[string]any{"json": map[string]any{"outside": outside, "keep": keep}}))
			seen, _ := resultOf(o.terminal).(map[string]any)
			dir, _ := seen["dir"].(string)
			Expect(dir).To(HavePrefix(os.TempDir()))
			Eventually(ctx, func() error { _, err := os.Lstat(dir); return err }).Should(MatchError(os.ErrNotExist), "the temp dir is removed")
			Expect(os.ReadFile(keep)).To(Equal([]byte("kept")), "what the links pointed at is untouched")
		}, SpecTimeout(specTimeout))
	})

	Describe("runwire's processes", func() {
		It("cannot be signalled by a task: not the runner, not the zygote", func(ctx SpecContext) {
			r := newRig(ctx, stdlib("*"))
			p := r.connection()
			runner := map[string]any{"json": map[string]any{"pid": os.Getpid()}}
			o := p.run("T1", allItems(try("os.kill(j[\"pid\"], signal.SIGTERM)"), runner))
			Expect(resultOf(o.terminal)).To(refused(Not(BeEmpty())), "the runner's pid")
			o = p.run("T2", allItems(try("os.kill(os.getppid(), signal.SIGKILL)"), runner))
			Expect(resultOf(o.terminal)).To(refused(Not(BeEmpty())), "the zygote (the task's parent)")
			p.healthy("T3")
		}, SpecTimeout(specTimeout))

		It("cannot be inspected by a task through /proc: the runner's environment and memory map", func(ctx SpecContext) {
			r := newRig(ctx, stdlib("*"))
			p := r.connection()
			for i, file := range []string{"environ", "maps"} {
				id := "T" + strconv.Itoa(i)
				path := "/proc/" + strconv.Itoa(os.Getpid()) + "/" + file
				code := try("fd = os.open(j[\"path\"], os.O_RDONLY)\n    os.read(fd, 1)")
				o := p.run(id, allItems(code, map[string]any{"json": map[string]any{"path": path}}))
				Expect(resultOf(o.terminal)).To(refused(Not(BeEmpty())), path)
			}
		}, SpecTimeout(specTimeout))

		It("are not the task's neighbours: the task lives in its own PID namespace", func(ctx SpecContext) {
			p := newRig(ctx, stdlib("*")).connection()
			o := p.runCode("T1", "import os\nreturn {\"ns\": "+whoami+"}")
			mine, err := os.Readlink("/proc/self/ns/pid")
			Expect(err).NotTo(HaveOccurred())
			Expect(resultOf(o.terminal)).To(HaveKeyWithValue("ns", Not(Equal(mine))))
		}, SpecTimeout(specTimeout))
	})

	It("cannot be posed as by a task: a task that connects to the children's socket and says hello gets no other task", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*")).connection()
		// The impostor: say hello on runwire's socket as a pre-forked child does, and leave
		// a process behind to answer whatever task runwire hands it with a forged result.
		code := "import os, socket, struct, json\n" +
			"def frame(obj):\n    body = json.dumps(obj).encode()\n    return struct.pack(\">I\", len(body)) + body\n" +
			"s = socket.socket(socket.AF_UNIX)\ns.connect(os.path.join(os.getcwd(), \"children.sock\"))\n" +
			"s.sendall(frame({\"type\": \"hello\", \"pid\": os.getpid()}))\n" +
			"impostor = os.fork()\nif impostor == 0:\n    size = struct.unpack(\">I\", s.recv(4, socket.MSG_WAITALL))[0]\n" +
			"    task = json.loads(s.recv(size, socket.MSG_WAITALL))\n" +
			"    s.sendall(frame({\"type\": \"result\", \"result\": {\"forged\": task[\"taskId\"], \"stolen\": task[\"settings\"][\"items\"]}}))\n" +
			"    os._exit(0)\n" +
			"print(impostor, " + whoami + ")\nreturn {\"posed\": True}"
		// T1's own outcome does not matter: runwire drops the impostor's connection at once,
		// its forked process may fail and report on T1's channel, and the task's cgroup sweep
		// takes it. What matters is that no later task goes to it.
		p.runCode("T1", code)
		for i := 2; i <= 6; i++ {
			id := "T" + strconv.Itoa(i)
			secret := map[string]any{"json": map[string]any{"secret": "of " + id}}
			Expect(p.run(id, allItems("return {\"task\": _items[0][\"json\"][\"secret\"]}", secret)).terminal).
				To(Equal(done(id, `{"task":"of `+id+`"}`)), "each task is run by a real child of runwire's")
		}
	}, SpecTimeout(specTimeout))

	// The language-level rules now close json.decoder.re.enum.sys.modules → posix (see
	// "Known escapes"), so the task gets posix the way the rules let it: os allowed.
	It("still holds for code the language-level rules let reach posix (os allowed)", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("os")).connection()
		dir := GinkgoT().TempDir()
		planted, shell := filepath.Join(dir, "planted"), filepath.Join(dir, "by-a-shell")
		code := "import os as posix\nj = _items[0][\"json\"]\nout = {}\n" +
			"try:\n    posix.open(j[\"path\"], posix.O_WRONLY | posix.O_CREAT, 0o600)\n    out[\"wrote\"] = True\nexcept OSError:\n    out[\"wrote\"] = False\n" +
			"try:\n    posix.kill(j[\"pid\"], 15)\n    out[\"signalled\"] = True\nexcept OSError:\n    out[\"signalled\"] = False\n" +
			"posix.system(\"echo planted > \" + j[\"shell\"])\n" +
			"return out"
		in := map[string]any{"json": map[string]any{"path": planted, "shell": shell, "pid": os.Getpid()}}
		o := p.run("T1", allItems(code, in))
		Expect(resultOf(o.terminal)).To(Equal(map[string]any{"wrote": false, "signalled": false}))
		Expect(planted).NotTo(BeAnExistingFile(), "no file written outside the temp dir")
		Expect(shell).NotTo(BeAnExistingFile(), "not even by a shell the task starts")
	}, SpecTimeout(specTimeout))
})

// brokerAddress is the loopback broker's host and port, as a task would dial them.
func brokerAddress(r *rig) (string, int) {
	GinkgoHelper()
	host, portText, err := net.SplitHostPort(strings.TrimPrefix(r.b.URL(), "http://"))
	Expect(err).NotTo(HaveOccurred())
	port, err := strconv.Atoi(portText)
	Expect(err).NotTo(HaveOccurred())
	return host, port
}
