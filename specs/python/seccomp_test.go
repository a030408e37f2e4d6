package python_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"golang.org/x/sys/unix"

	"github.com/runwire/runwire/python"
)

// Attacks on the kernel that the seccomp filter stops, each performed by user code with
// every module allowed (N8N_RUNNERS_STDLIB_ALLOW=*: os, ctypes, socket), through the real
// executor. Each asserts that the call failed with the filter's errno, that the task ended in
// an ordinary Python error (not a crash), and that the runner goes on. Each is also run once
// in a plain Python process of the spec's user, without the filter, to show that the same
// call answers otherwise there: the errno the task got is the filter's, not the kernel's.

// syscallNumbers are the numbers the attacks call directly, for this architecture.
var syscallNumbers = map[string]int{
	"ptrace": unix.SYS_PTRACE, "process_vm_readv": unix.SYS_PROCESS_VM_READV, "kcmp": unix.SYS_KCMP,
	"pidfd_open": unix.SYS_PIDFD_OPEN, "pidfd_getfd": unix.SYS_PIDFD_GETFD,
	"unshare": unix.SYS_UNSHARE, "setns": unix.SYS_SETNS, "mount": unix.SYS_MOUNT,
	"clone": unix.SYS_CLONE, "clone3": unix.SYS_CLONE3, "bpf": unix.SYS_BPF,
	"perf_event_open": unix.SYS_PERF_EVENT_OPEN, "userfaultfd": unix.SYS_USERFAULTFD,
	"io_uring_setup": unix.SYS_IO_URING_SETUP, "keyctl": unix.SYS_KEYCTL, "add_key": unix.SYS_ADD_KEY,
	"personality": unix.SYS_PERSONALITY, "shmget": unix.SYS_SHMGET, "shmctl": unix.SYS_SHMCTL,
	"finit_module": unix.SYS_FINIT_MODULE, "name_to_handle_at": unix.SYS_NAME_TO_HANDLE_AT, "syslog": unix.SYS_SYSLOG,
}

// attackPrelude is what every attack's code starts with: raw system calls through ctypes that
// raise OSError as os does, and processes of the task's own user to aim at: its siblings (the
// zygote's other children, a waiting one at least) where /proc shows them, then its own
// child. The plain process of the control run aims at its own child only: its siblings are
// the spec's zygotes.
func attackPrelude(control bool) string {
	numbers, err := json.Marshal(syscallNumbers)
	Expect(err).NotTo(HaveOccurred())
	return "import ctypes, os, socket, struct\n" +
		"N = " + string(numbers) + "\n" +
		"libc = ctypes.CDLL(None, use_errno=True)\nlibc.syscall.restype = ctypes.c_long\n" +
		"def sc(name, *args):\n" +
		"    ctypes.set_errno(0)\n" +
		"    r = libc.syscall(ctypes.c_long(N[name]), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])\n" +
		"    if r < 0:\n        e = ctypes.get_errno()\n        raise OSError(e, os.strerror(e))\n" +
		"    return r\n" +
		"victims = []\n" +
		"def victim():\n" +
		"    r, w = os.pipe()\n    pid = os.fork()\n" +
		"    if pid == 0:\n        os.close(w)\n        os.read(r, 1)\n        os._exit(0)\n" +
		"    os.close(r)\n    victims.append(pid)\n    return pid\n" +
		"def read(path):\n    fd = os.open(path, os.O_RDONLY)\n    try:\n        return os.read(fd, 65536).decode()\n    finally:\n        os.close(fd)\n" +
		"def field(text, name):\n    for line in text.splitlines():\n        if line.startswith(name + ':'):\n            return line.split()[1:]\n    return []\n" +
		"def siblings():\n    if " + pyBool(control) + ":\n        return []\n" +
		"    try:\n        mine = read('/proc/self/status')\n    except OSError:\n        return []\n" +
		"    try:\n        entries = os.listdir('/proc')\n    except OSError:\n        return []\n" +
		"    out = []\n    for entry in entries:\n        if not entry.isdigit() or [entry] == field(mine, 'Pid'):\n            continue\n" +
		"        try:\n            status = read('/proc/%s/status' % entry)\n        except OSError:\n            continue\n" +
		"        if field(status, 'PPid') == field(mine, 'PPid'):\n            out.append(int(field(status, 'NSpid')[-1]))\n    return out\n" +
		"def targets():\n    return siblings() + [victim()]\n" +
		"import tempfile\ntmp = tempfile.gettempdir()\n"
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// attack is one table entry: code that raises OSError when the call is refused, the errno
// the filter answers, and when an unfiltered process is sure to get another answer (some
// calls the kernel itself refuses an unprivileged user, by sysctl or capability).
type attack struct {
	code       string
	errno      unix.Errno
	controlled control
}

// control says when the unfiltered run of an attack is sure to answer otherwise.
type control int

const (
	uncontrolled control = iota // the kernel may refuse it by itself (a sysctl, a capability)
	controlled                  // for any user
	asRoot                      // only with the capabilities root has
)

func (a attack) task() string {
	return attackPrelude(false) + a.code + "\nreturn 'not refused'"
}

func (a attack) control() string {
	return attackPrelude(true) + "try:\n" + indent(a.code) + "\n    print(0)\nexcept OSError as e:\n    print(e.errno)\n" +
		"finally:\n    for pid in victims:\n        os.kill(pid, 9)\n"
}

func indent(code string) string {
	return "    " + strings.ReplaceAll(code, "\n", "\n    ")
}

// unfiltered runs code in a plain Python process of the spec's user (no seccomp filter, no
// walls) and returns what it printed: the errno of the call, 0 if it succeeded.
func unfiltered(ctx context.Context, code string) int {
	GinkgoHelper()
	cmd := exec.CommandContext(ctx, interpreterPath(), "-I", "-S", "-c", code) //nolint:gosec // the spec's own code
	cmd.Env = []string{"TMPDIR=" + GinkgoT().TempDir(), "PATH=/usr/bin:/bin"}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	Expect(cmd.Run()).To(Succeed(), stderr.String())
	n, err := strconv.Atoi(strings.TrimSpace(out.String()))
	Expect(err).NotTo(HaveOccurred(), out.String())
	return n
}

// refusedBy is the taskerror message of an OSError with that errno, as n8n shows it.
func refusedBy(e unix.Errno) string { return "[Errno " + strconv.Itoa(int(e)) + "] " }

const (
	ptraceAttach     = "16"
	cloneNewUserText = "0x10000000"
)

var _ = Describe("The seccomp filter", Label("integration", "walls"), func() {
	BeforeEach(func() {
		if _, err := (python.SeccompPolicy{Arch: runtime.GOARCH}).Program(); err != nil {
			Skip("no seccomp list for " + runtime.GOARCH + ": " + err.Error())
		}
	})

	DescribeTable("refuses the attack, and the task gets an ordinary Python error",
		func(ctx SpecContext, a attack) {
			if a.controlled == controlled || (a.controlled == asRoot && os.Geteuid() == 0) {
				if unfiltered(ctx, a.control()) == int(a.errno) {
					// In a container whose seccomp profile (or a sysctl) already refuses the call.
					Skip("here the call fails with errno " + strconv.Itoa(int(a.errno)) + " without runwire's filter too: the attack cannot show the filter")
				}
			}
			p := newRig(ctx, stdlib("*")).connection()
			o := p.runCode("T1", a.task())
			message, _, ok := errorOf(o.terminal)
			Expect(ok).To(BeTrue(), "a taskerror, not %v", o.terminal)
			Expect(message).To(HavePrefix(refusedBy(a.errno)))
			p.healthy("T2")
		},
		Entry("ptrace(PTRACE_ATTACH) on a sibling task's process (or, where /proc hides the siblings, on its own child)",
			attack{code: "for pid in targets():\n    sc('ptrace', " + ptraceAttach + ", pid, 0, 0)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("process_vm_readv of a sibling's memory (or its own child's)",
			attack{code: "buf = ctypes.create_string_buffer(8)\n" +
				"local = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 8)\nremote = (ctypes.c_void_p * 2)(id(os), 8)\n" +
				"for pid in targets():\n    sc('process_vm_readv', pid, local, 1, remote, 1, 0)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("kcmp of two processes' descriptors",
			attack{code: "sc('kcmp', os.getpid(), victim(), 0, 0, 0)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("pidfd_getfd: a descriptor taken out of another process",
			attack{code: "sc('pidfd_getfd', sc('pidfd_open', victim(), 0), 0, 0)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("unshare(CLONE_NEWUSER)",
			attack{code: "sc('unshare', " + cloneNewUserText + ")", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("setns",
			attack{code: "sc('setns', -1, 0)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)), // EBADF unfiltered
		Entry("mount",
			attack{code: "sc('mount', ctypes.c_char_p(b'none'), 1, ctypes.c_char_p(b'tmpfs'), 0, 0)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)), // EFAULT unfiltered
		Entry("clone with CLONE_NEWUSER, through ctypes",
			attack{code: "pid = sc('clone', " + cloneNewUserText + " | 17, 0, 0, 0, 0)\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("clone3, answered ENOSYS so that libc falls back to clone",
			attack{code: "sc('clone3', 0, 0)", errno: unix.ENOSYS, controlled: controlled}, SpecTimeout(specTimeout)), // EINVAL unfiltered
		Entry("bpf(BPF_MAP_CREATE)",
			attack{code: "attr = struct.pack('IIII', 2, 4, 4, 1) + bytes(56)\nsc('bpf', 0, ctypes.c_char_p(attr), len(attr))", errno: unix.EPERM}, SpecTimeout(specTimeout)),
		Entry("perf_event_open of a software counter on itself",
			attack{code: "attr = struct.pack('IIQ', 1, 128, 0) + bytes(112)\nsc('perf_event_open', ctypes.c_char_p(attr), 0, -1, -1, 0)", errno: unix.EPERM}, SpecTimeout(specTimeout)),
		Entry("userfaultfd (user-mode only, which any user may open)",
			attack{code: "sc('userfaultfd', 1)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("io_uring_setup",
			attack{code: "sc('io_uring_setup', 1, ctypes.create_string_buffer(120))", errno: unix.EPERM}, SpecTimeout(specTimeout)),
		Entry("keyctl: the session keyring's id",
			attack{code: "sc('keyctl', 0, -3, 1)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("add_key to the process keyring",
			attack{code: "sc('add_key', ctypes.c_char_p(b'user'), ctypes.c_char_p(b'runwire-spec'), ctypes.c_char_p(b'x'), 1, -2)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("setxattr, even a user.* attribute on the task's own file",
			attack{code: "path = os.path.join(tmp, 'x')\nos.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))\nos.setxattr(path, 'user.runwire', b'1')", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("mknod, even a FIFO in the task's own directory",
			attack{code: "os.mknod(os.path.join(tmp, 'fifo'), 0o10600)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("personality(ADDR_NO_RANDOMIZE)",
			attack{code: "sc('personality', 0x0040000)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("finit_module: code loaded into the kernel",
			attack{code: "sc('finit_module', -1, ctypes.c_char_p(b''), 0)", errno: unix.EPERM, controlled: asRoot}, SpecTimeout(specTimeout)), // EBADF unfiltered as root
		Entry("name_to_handle_at: the handles open_by_handle_at opens files by, past every directory's permissions",
			attack{code: "handle = ctypes.create_string_buffer(struct.pack('Ii', 128, 0) + bytes(128))\nmount = ctypes.c_int()\n" +
				"sc('name_to_handle_at', -100, ctypes.c_char_p(b'/'), handle, ctypes.byref(mount), 0)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("syslog: the kernel log's size",
			attack{code: "sc('syslog', 10, 0, 0)", errno: unix.EPERM, controlled: asRoot}, SpecTimeout(specTimeout)),
		// SysV IPC: refused only where tasks have no IPC namespace of their own; the attack on
		// a shared segment is in task_namespaces_test.go.
		Entry("socket(AF_INET)",
			attack{code: "socket.socket(socket.AF_INET, socket.SOCK_STREAM)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("socket(AF_INET6)",
			attack{code: "socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("socket(AF_NETLINK): the kernel's routing and nf_tables interfaces",
			attack{code: "socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
		Entry("socket(AF_PACKET)",
			attack{code: "socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)", errno: unix.EPERM}, SpecTimeout(specTimeout)),
		Entry("socket(AF_UNIX): the host's unix sockets are in reach while the task shares the host's mounts",
			attack{code: "socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)", errno: unix.EPERM, controlled: controlled}, SpecTimeout(specTimeout)),
	)

	It("leaves what Python needs: fork, subprocess, threads (clone3 refused, libc falls back to clone) and socketpair", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*")).connection()
		code := "import os, subprocess, threading, socket\n" +
			"pid = os.fork()\nif pid == 0:\n    os._exit(7)\nforked = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])\n" +
			"ran = subprocess.run(['/bin/sh', '-c', 'echo started'], capture_output=True, text=True).stdout.strip()\n" +
			"box = []\nt = threading.Thread(target=lambda: box.append('thread'))\nt.start()\nt.join()\n" +
			"a, b = socket.socketpair()\na.sendall(b'pair')\nechoed = b.recv(4).decode()\n" +
			"return [forked, ran, box[0], echoed]"
		Expect(p.runCode("T1", code).terminal).To(Equal(done("T1", `[7, "started", "thread", "pair"]`)))
	}, SpecTimeout(specTimeout))

	It("is what the task runs under, and what the start-up line and each hello report", func(ctx SpecContext) {
		log := gbytes.NewBuffer()
		r := newRig(ctx, stdlib("*"), withLog(log))
		p := r.connection()
		Expect(r.py.Ready(ctx)).To(Succeed())
		rules := len(python.SeccompPolicy{Arch: runtime.GOARCH, TaskIPCNamespace: r.py.Walls().TaskNamespaces}.Rules())
		Expect(r.py.Walls().Seccomp).To(Equal(rules))
		Eventually(log).WithContext(ctx).WithTimeout(2 * time.Second).Should(gbytes.Say(regexp.QuoteMeta("seccomp: " + strconv.Itoa(rules) + " rules (")))
		code := "import os\nfd = os.open('/proc/self/status', os.O_RDONLY)\nstatus = os.read(fd, 65536).decode()\n" +
			"return [line for line in status.splitlines() if line.startswith('Seccomp')]"
		Expect(resultOf(p.runCode("T1", code).terminal)).To(ContainElement("Seccomp:\t2"), "filter mode, in the task's own process")
	}, SpecTimeout(specTimeout))

	It("refuses only socket(AF_UNIX) with RUNWIRE_PYTHON_NETWORK=allow", func(ctx SpecContext) {
		p := newRig(ctx, stdlib("*"), withEnv("RUNWIRE_PYTHON_NETWORK=allow")).connection()
		code := "import socket\nout = []\nfor family in (socket.AF_INET, socket.AF_UNIX):\n" +
			"    try:\n        socket.socket(family, socket.SOCK_STREAM).close()\n        out.append('created')\n" +
			"    except OSError as e:\n        out.append(e.errno)\nreturn out"
		Expect(p.runCode("T1", code).terminal).To(Equal(done("T1", `["created",1]`)))
	}, SpecTimeout(specTimeout))
})
