package python_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/runwire/runwire/python"
)

// environment is what this machine gives the spec process, found by the spec itself rather
// than taken from runwire's report: `make walls-matrix` runs this suite under cmd/runwire-jail
// (a Docker-like seccomp profile, a kernel without Landlock), which the spec process, runwire
// and its Python all inherit, so what the spec finds here is what runwire finds.
type environment struct {
	name       string // RUNWIRE_SPECS_ENV (set by make walls-matrix), else root or unprivileged
	root       bool
	namespaces bool // a user namespace can be made: runwire's zygote then has namespaces
	// ownProc: a procfs can be mounted in a fresh user, PID and mount namespace, as each
	// task's is (not where a container masks /proc with overmounts: runwire then keeps the
	// zygote's /proc for tasks).
	ownProc  bool
	landlock int // the kernel's Landlock ABI; 0: none
}

func probeEnvironment() environment {
	GinkgoHelper()
	e := environment{name: os.Getenv("RUNWIRE_SPECS_ENV"), root: os.Getuid() == 0, landlock: python.LandlockABI()}
	if e.name == "" {
		e.name = "unprivileged"
		if e.root {
			e.name = "root"
		}
	}
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	e.namespaces = cmd.Run() == nil
	if e.namespaces {
		mount := exec.Command("/bin/mount", "-t", "proc", "-o", "nosuid,nodev,noexec", "proc", "/proc")
		mount.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		}
		e.ownProc = mount.Run() == nil
	}
	return e
}

// missing names the walls runwire expects that this environment cannot give, as
// RUNWIRE_PYTHON_WALLS=require names them.
func (e environment) missing() []string {
	var out []string
	if !e.namespaces {
		out = append(out, "namespaces")
	}
	if e.landlock < 1 {
		out = append(out, "Landlock")
	}
	return out
}

func (e environment) String() string {
	return fmt.Sprintf("%s (namespaces: %v, own procfs: %v, Landlock ABI %d, root: %v)", e.name, e.namespaces, e.ownProc, e.landlock, e.root)
}

// The walls suite in each environment runwire meets (#11.2): what the start-up line claims
// is what holds, a missing wall stops tasks under require, and each environment says which
// attacks it contains and which it knowingly does not.
var _ = Describe("Walls in this environment", Label("integration", "walls"), func() {
	var env environment
	BeforeEach(func() {
		env = probeEnvironment()
		// make walls-matrix names the profile runwire-jail applies: it must hold, or the
		// environment the specs below judge is not the one they are said to run in.
		if strings.HasPrefix(env.name, "docker") {
			Expect(env.namespaces).To(BeFalse(), "runwire-jail's docker profile refuses a user namespace")
		}
		if strings.Contains(env.name, "nolandlock") {
			Expect(env.landlock).To(BeZero(), "runwire-jail's nolandlock profile hides Landlock")
		}
	})

	It("are what the start-up line claims, and a task finds the same", func(ctx SpecContext) {
		log := gbytes.NewBuffer()
		r := newRig(ctx, stdlib("*"), withEnv("RUNWIRE_PYTHON_WALLS=best-effort"), withLog(log))
		Expect(r.py.Ready(ctx)).To(Succeed())
		w := r.py.Walls()
		line := w.String()
		Eventually(log).WithContext(ctx).WithTimeout(2 * time.Second).Should(gbytes.Say("Python task isolation in force: "))
		AddReportEntry("start-up line in "+env.String(), line, ReportEntryVisibilityAlways)

		if env.namespaces {
			Expect(w.Namespaces).To(ContainElements("user", "pid", "ipc"), line)
			Expect(w.TaskNamespaces).To(BeTrue(), line)
			Expect(line).To(ContainSubstring("PID, IPC and mount namespaces per task"))
		} else {
			Expect(w.Namespaces).To(BeEmpty(), "no namespaces may be claimed where the kernel refuses them: %s", line)
			Expect(w.TaskNamespaces).To(BeFalse(), line)
			Expect(line).To(And(ContainSubstring("namespaces: none"), ContainSubstring("a subreaper per task"), ContainSubstring("SysV IPC refused")))
		}
		Expect(w.Landlock).To(Equal(env.landlock), "the Landlock ABI claimed is the kernel's: %s", line)
		if env.landlock < 1 {
			Expect(line).To(ContainSubstring("landlock: unavailable"))
		}
		Expect(w.Seccomp).To(BeNumerically(">", 0), "seccomp holds in every environment: %s", line)
		Expect(w.Network).To(BeFalse(), "no network is claimed for tasks, with or without a network namespace (seccomp refuses their sockets): %s", line)
		Expect(line).To(ContainSubstring("network: false"))

		// The task's own view.
		outside, err := os.MkdirTemp("", "runwire-spec-outside-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(os.RemoveAll, outside)
		Expect(os.Chmod(outside, 0o777)).To(Succeed()) //nolint:gosec // any uid may write here: only Landlock can stop the task
		code := "import os, ctypes\nst = {}\nfd = os.open('/proc/self/status', os.O_RDONLY)\n" +
			"for l in os.read(fd, 65536).decode().splitlines():\n    k, _, v = l.partition(':')\n    st[k] = v.strip()\n" +
			"out = {'seccomp': st['Seccomp'], 'nnp': st['NoNewPrivs']}\n" +
			"for ns in ('pid', 'ipc', 'user', 'net'):\n    out[ns] = os.readlink('/proc/self/ns/' + ns)\n" +
			"libc = ctypes.CDLL(None, use_errno=True)\nabi = libc.syscall(444, None, 0, 1)\n" +
			"out['landlock'] = abi if abi >= 0 else -ctypes.get_errno()\n" +
			"try:\n    fd = os.open(os.path.join(_items[0]['json']['dir'], 'planted'), os.O_WRONLY | os.O_CREAT, 0o644)\n" +
			"    os.write(fd, b'x')\n    out['write'] = 'ok'\nexcept OSError as e:\n    out['write'] = 'errno %d' % e.errno\nreturn out"
		p := r.connection()
		seen, _ := resultOf(p.run("T1", allItems(code, map[string]any{"json": map[string]any{"dir": outside}})).terminal).(map[string]any)
		Expect(seen).To(HaveKeyWithValue("seccomp", "2"), "the task runs under a seccomp filter")
		Expect(seen).To(HaveKeyWithValue("nnp", "1"))
		for _, ns := range []string{"pid", "ipc", "user", "net"} {
			mine, err := os.Readlink("/proc/self/ns/" + ns)
			Expect(err).NotTo(HaveOccurred())
			if env.namespaces {
				Expect(seen[ns]).NotTo(Equal(mine), "a %s namespace of the task's own", ns)
			} else {
				Expect(seen[ns]).To(Equal(mine), "no %s namespace of its own: the profile refuses them", ns)
			}
		}
		Expect(seen).To(HaveKeyWithValue("landlock", BeEquivalentTo(orENOSYS(env.landlock))), "the task finds the kernel's Landlock")
		_, statErr := os.Stat(filepath.Join(outside, "planted"))
		if env.landlock > 0 {
			Expect(seen).To(HaveKeyWithValue("write", "errno 13"), "Landlock refuses a write outside the temp dir")
			Expect(statErr).To(MatchError(os.ErrNotExist))
		} else {
			Expect(seen).To(HaveKeyWithValue("write", "ok"), "without Landlock a world-writable directory is the task's too")
			Expect(statErr).NotTo(HaveOccurred())
		}
	}, SpecTimeout(specTimeout))

	It("stop Python tasks with the reason where one is missing, under RUNWIRE_PYTHON_WALLS=require", func(ctx SpecContext) {
		log := gbytes.NewBuffer()
		r := newRig(ctx, withEnv("RUNWIRE_PYTHON_WALLS=require"), withLog(log))
		p := r.connection()
		o := p.runCode("T1", `return [{"json": {"ran": True}}]`)
		missing := env.missing()
		if len(missing) == 0 {
			Expect(o.terminal).To(Equal(done("T1", `[{"json":{"ran":true}}]`)), "every wall holds in %s: require runs tasks", env)
			return
		}
		message, _, _ := errorOf(o.terminal)
		Expect(message).To(HavePrefix("Python is not available on this runner: walls missing: "))
		for _, wall := range missing {
			Expect(message).To(ContainSubstring(wall))
		}
		Expect(message).To(ContainSubstring("RUNWIRE_PYTHON_WALLS=best-effort"), "the message names the setting")
		Expect(r.py.Ready(ctx)).To(MatchError(ContainSubstring("walls missing")))
		// The supervisor logs it as the state changes, concurrently with the task's answer.
		Eventually(log).WithContext(ctx).WithTimeout(2 * time.Second).Should(gbytes.Say(`level=ERROR msg="Python is not available on this runner: walls missing: `))
		Expect(string(log.Contents())).NotTo(ContainSubstring("Python task isolation in force"), "no start-up line for walls that do not hold")
		AddReportEntry("require in "+env.String(), message, ReportEntryVisibilityAlways)
	}, SpecTimeout(specTimeout))

	It("run Python tasks with what holds, and say loudly what does not, under RUNWIRE_PYTHON_WALLS=best-effort", func(ctx SpecContext) {
		log := gbytes.NewBuffer()
		r := newRig(ctx, withEnv("RUNWIRE_PYTHON_WALLS=best-effort"), withLog(log))
		p := r.connection()
		Expect(p.runCode("T1", `return [{"json": {"ran": True}}]`).terminal).To(Equal(done("T1", `[{"json":{"ran":true}}]`)))
		const loud = "PYTHON TASKS RUN WITH WEAKER WALLS"
		if missing := env.missing(); len(missing) > 0 {
			Expect(string(log.Contents())).To(ContainSubstring("level=WARN msg=\"" + loud))
			for _, wall := range missing {
				Expect(string(log.Contents())).To(MatchRegexp(loud + `[^\n]*` + wall))
			}
		} else {
			Expect(string(log.Contents())).NotTo(ContainSubstring(loud), "nothing is missing in %s", env)
		}
	}, SpecTimeout(specTimeout))

	// Each attack, performed by one task; contained says whether this environment stops it,
	// and why (or why not). The table in docs/python-executor.md ("Where the walls hold") is
	// what these entries show in each environment of make walls-matrix.
	type attack struct {
		name      string
		code      string // Python statements; raising OSError means refused
		contained func(environment) (bool, string)
	}
	always := func(why string) func(environment) (bool, string) {
		return func(environment) (bool, string) { return true, why }
	}
	attacks := []attack{
		{"a new user namespace (unshare)", "ctypes.CDLL(None, use_errno=True).syscall(272 if arch == 'x86_64' else 97, 0x10000000) == 0 or fail()",
			always("runwire's seccomp filter (and, under a Docker-like profile, the profile)")},
		{"io_uring_setup", "ctypes.CDLL(None, use_errno=True).syscall(425, 1, ctypes.create_string_buffer(120)) >= 0 or fail()",
			always("runwire's seccomp filter")},
		{"a TCP connection to the broker", "socket.create_connection((j['host'], j['port']), timeout=2).close()",
			always("runwire's seccomp filter refuses socket(AF_INET); also the network namespace, Landlock ABI 4")},
		{"reading /etc/shadow", "os.read(os.open('/etc/shadow', os.O_RDONLY), 64)",
			func(e environment) (bool, string) {
				if e.landlock > 0 {
					return true, "Landlock's read list (and file permissions)"
				}
				return true, "file permissions only: the task's uid is not root (as root: python.TaskUID)"
			}},
		{"a host unix socket (a listening one of the spec's)", "s = socket.socket(socket.AF_UNIX)\n    s.connect(j['sock'])",
			always("runwire's seccomp filter refuses socket(AF_UNIX): the task has no mount namespace hiding the host's sockets")},
		{"a signal to runwire (kill(pid, 0))", "os.kill(j['runwire'], 0)",
			func(e environment) (bool, string) {
				switch {
				case e.namespaces:
					return true, "the task's PID namespace: runwire's pid is not there"
				case e.landlock >= 6:
					return true, "Landlock ABI 6 scopes signals to the task's own domain"
				}
				return false, "no PID namespace (the profile refuses it) and no Landlock signal scoping: same uid, so signals reach runwire and sibling tasks"
			}},
		{"reading runwire's command line (/proc/<runwire>/cmdline)", "os.read(os.open('/proc/%d/cmdline' % j['runwire'], os.O_RDONLY), 64)",
			func(e environment) (bool, string) {
				switch {
				case e.ownProc:
					return true, "the task's own procfs, of its PID namespace: runwire is not in it"
				case e.landlock > 0:
					return true, "Landlock: of /proc only the task's own entry is readable"
				}
				return false, "no PID namespace and no Landlock: the task's /proc is the host's, and a command line is world-readable"
			}},
		{"reading a file outside the read list", "os.read(os.open(j['secret'], os.O_RDONLY), 64)",
			func(e environment) (bool, string) {
				if e.landlock > 0 {
					return true, "Landlock's read list"
				}
				return false, "no Landlock: file permissions only (a world-readable file is readable)"
			}},
		{"writing outside the temp dir", "os.write(os.open(os.path.join(j['dir'], 'planted'), os.O_WRONLY | os.O_CREAT, 0o644), b'x')",
			func(e environment) (bool, string) {
				if e.landlock > 0 {
					return true, "Landlock: writes only to the private temp dir"
				}
				return false, "no Landlock: file permissions only (a world-writable directory is writable)"
			}},
	}

	It("contain the attacks this environment can stop, and name the ones it knowingly does not", func(ctx SpecContext) {
		dir, err := os.MkdirTemp("", "runwire-spec-attacks-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(os.RemoveAll, dir)
		Expect(os.Chmod(dir, 0o777)).To(Succeed()) //nolint:gosec // any uid may write and read here: only the walls can stop the task
		secret := filepath.Join(dir, "secret")
		Expect(os.WriteFile(secret, []byte("spec-secret\n"), 0o644)).To(Succeed()) //nolint:gosec // world-readable on purpose
		sock := filepath.Join(dir, "host.sock")
		ln, err := net.Listen("unix", sock)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(ln.Close)
		Expect(os.Chmod(sock, 0o777)).To(Succeed()) //nolint:gosec // any uid may connect: only the walls can stop the task
		r := newRig(ctx, stdlib("*"), withEnv("RUNWIRE_PYTHON_WALLS=best-effort"))
		host, port := brokerAddress(r)
		p := r.connection()

		code := "import os, socket, ctypes, platform\narch = platform.machine()\nj = _items[0]['json']\nout = {}\n" +
			"def fail():\n    raise OSError(ctypes.get_errno(), 'refused')\n"
		for i, a := range attacks {
			code += "try:\n    " + a.code + "\n    out['" + strconv.Itoa(i) + "'] = 'ok'\nexcept OSError as e:\n    out['" + strconv.Itoa(i) + "'] = 'errno %s' % e.errno\n"
		}
		code += "return out"
		in := map[string]any{"host": host, "port": port, "runwire": os.Getpid(), "secret": secret, "dir": dir, "sock": sock}
		got, _ := resultOf(p.run("T1", allItems(code, map[string]any{"json": in})).terminal).(map[string]any)
		Expect(got).To(HaveLen(len(attacks)))

		var table strings.Builder
		for i, a := range attacks {
			outcome, _ := got[strconv.Itoa(i)].(string)
			contained, why := a.contained(env)
			verdict := "contained"
			if !contained {
				verdict = "NOT contained (knowingly)"
			}
			fmt.Fprintf(&table, "%-58s %-26s %-10s %s\n", a.name, verdict, outcome, why)
			if contained {
				Expect(outcome).To(HavePrefix("errno "), "%s is contained in %s: %s", a.name, env, why)
			} else {
				Expect(outcome).To(Equal("ok"), "%s: the spec expects it to get through in %s (%s); if it is refused now, the table is out of date", a.name, env, why)
			}
		}
		AddReportEntry("attacks in "+env.String(), table.String(), ReportEntryVisibilityAlways)
		p.healthy("T2")
	}, SpecTimeout(specTimeout))
})

// needLandlock skips a spec of a read that only Landlock's read list refuses, where the
// kernel has no Landlock: a task then reads what file permissions let its uid read. The
// attacks spec of "Walls in this environment" performs such reads there and reports them.
func needLandlock() {
	if python.LandlockABI() < 1 {
		Skip("no Landlock here: the read list is Landlock's, and without it a task reads whatever file permissions let its uid read (\"Walls in this environment\" shows it: knowingly not contained)")
	}
}

// orENOSYS is what landlock_create_ruleset(NULL, 0, VERSION) answers a task on a kernel with
// this ABI: the ABI, or -ENOSYS.
func orENOSYS(abi int) int {
	if abi < 1 {
		return -int(syscall.ENOSYS)
	}
	return abi
}
