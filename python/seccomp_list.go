package python

import "syscall"

// The seccomp list: every system call a task's process is refused, with the reason, for
// amd64 and arm64. Everything not listed is allowed: the issue asks for a deny-list of the
// calls that start kernel privilege escalations, escapes from the other walls or spying on
// other processes, on top of the walls that bound the rest (namespaces, Landlock, limits).
// docs/python-executor.md ("Seccomp") shows this list; a spec checks that it matches.
//
// Numbers come from the kernel's tables (arch/x86/entry/syscalls/syscall_64.tbl and the
// generic include/uapi/asm-generic/unistd.h that arm64 uses); -1 marks a call the
// architecture does not have. A unit spec compares them with golang.org/x/sys/unix for the
// architecture it runs on.

// Namespace flags of clone(2): CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID |
// NEWNET. (CLONE_NEWTIME is 0x80, which clone(2) reads as part of the exit signal; only
// unshare and clone3 take it, and both are refused whole.)
const cloneNamespaceFlags = 0x7E020000

// personality(2) values a task may pass: PER_LINUX, and 0xffffffff, which only asks.
const (
	perLinux     = 0
	personaQuery = 0xffffffff
)

// afUnix is AF_UNIX, the one socket family a task may keep where the policy allows it.
const afUnix = 1

// Socket types (socket(2)'s argument 1 without SOCK_NONBLOCK and SOCK_CLOEXEC): the
// connection-oriented ones, whose socketpair ends cannot be pointed at another socket, and
// the mask that strips the flags.
const (
	sockStream    = 1
	sockSeqpacket = 5
	sockTypeMask  = 0xf
)

// nr is a call's number on each architecture; -1: the architecture has no such call.
type nr struct{ amd64, arm64 int }

// listEntry is one line of the list. when decides whether the entry applies under a policy
// (nil: always); test is the argument check (nil: the call is refused whatever its
// arguments); refused says both in words, for the docs ("" for always).
type listEntry struct {
	name    string
	nr      nr
	group   string
	why     string
	errno   syscall.Errno
	when    func(SeccompPolicy) bool
	test    func(SeccompPolicy) argTests
	refused string
}

func refuse(name string, n nr, group, why string) listEntry {
	return listEntry{name: name, nr: n, group: group, why: why, errno: syscall.EPERM}
}

func withoutTaskIPC(p SeccompPolicy) bool { return !p.TaskIPCNamespace }

func sysv(name string, n nr, why string) listEntry {
	e := refuse(name, n, "SysV IPC", why)
	e.when = withoutTaskIPC
	e.refused = "where the task has no IPC namespace of its own (where the zygote has no namespaces: tasks are then subreapers sharing its IPC namespace)"
	return e
}

const (
	whyCrossProcess = "reads or changes another process (its memory, its descriptors): with the task's uid, any sibling task or the zygote"
	whyMount        = "changes what the file system looks like; a task has no mount of its own to make, and a new mount can hide or reveal files behind Landlock's back"
	whyMountAPI     = "the new mount API, as mount: " + whyMount
	whyXattr        = "sets or removes extended attributes, among them security.capability (file capabilities) and ACLs, which Landlock does not cover"
	whySysV         = "SysV IPC objects live in the IPC namespace, which every task of the zygote shares: one task's segment is readable by the next and outlives it"
)

// seccompList is the list, in the program's order. The order does not matter for speed
// (allowed calls are answered from the kernel's per-number cache, see seccomp_program.go),
// so it is by group, for reading.
var seccompList = []listEntry{
	// Other processes.
	refuse("ptrace", nr{101, 117}, "other processes", "attaches to another process and reads or rewrites it: the oldest way out of a sandbox"),
	refuse("process_vm_readv", nr{310, 270}, "other processes", whyCrossProcess),
	refuse("process_vm_writev", nr{311, 271}, "other processes", whyCrossProcess),
	refuse("process_madvise", nr{440, 440}, "other processes", "acts on another process's memory through a pidfd, like process_vm_*"),
	refuse("kcmp", nr{312, 272}, "other processes", "compares kernel objects of two processes: a probe of other processes' descriptors and memory"),
	refuse("pidfd_getfd", nr{438, 438}, "other processes", "copies a descriptor out of another process (runwire's connection to a sibling, say)"),

	// Mounts.
	refuse("mount", nr{165, 40}, "mounts", whyMount),
	refuse("umount2", nr{166, 39}, "mounts", "removes a mount: could uncover what a mount hides in the task's view"),
	refuse("fsopen", nr{430, 430}, "mounts", whyMountAPI),
	refuse("fsconfig", nr{431, 431}, "mounts", whyMountAPI),
	refuse("fsmount", nr{432, 432}, "mounts", whyMountAPI),
	refuse("fspick", nr{433, 433}, "mounts", whyMountAPI),
	refuse("move_mount", nr{429, 429}, "mounts", whyMountAPI),
	refuse("open_tree", nr{428, 428}, "mounts", whyMountAPI),
	refuse("open_tree_attr", nr{467, 467}, "mounts", whyMountAPI),
	refuse("mount_setattr", nr{442, 442}, "mounts", "changes a mount's flags (read-only, nosuid, idmapping)"),
	refuse("pivot_root", nr{155, 41}, "mounts", "swaps the root mount: the first step of building a view of one's own"),
	refuse("chroot", nr{161, 51}, "mounts", "changes the root directory; with a descriptor kept open outside it, the classic way out of a chroot"),

	// Namespaces.
	refuse("unshare", nr{272, 97}, "namespaces", "a new user namespace gives the task every capability over it, and with them the kernel's least-tested code (nf_tables, mounts)"),
	refuse("setns", nr{308, 268}, "namespaces", "enters another namespace through a descriptor of /proc/<pid>/ns: out of the task's own"),
	{
		name: "clone", nr: nr{56, 220}, group: "namespaces", errno: syscall.EPERM,
		why:     "with a CLONE_NEW* flag, the same as unshare; fork, vfork, threads and posix_spawn (flags without them) stay allowed",
		test:    func(SeccompPolicy) argTests { return argTests{{arg: 0, refuseAny: cloneNamespaceFlags}} },
		refused: "when its flags (argument 0) have any of 0x7e020000",
	},
	{
		name: "clone3", nr: nr{435, 435}, group: "namespaces", errno: syscall.ENOSYS,
		why: "its flags sit in memory, where seccomp cannot read them; ENOSYS makes glibc fall back to clone, whose flags are checked. Also closes CLONE_INTO_CGROUP",
	},

	// The kernel's riskiest interfaces.
	refuse("bpf", nr{321, 280}, "kernel attack surface", "eBPF programs and maps: a large, often exploited verifier"),
	refuse("perf_event_open", nr{298, 241}, "kernel attack surface", "performance counters: a long record of kernel bugs, and a side channel on other processes"),
	refuse("userfaultfd", nr{323, 282}, "kernel attack surface", "lets a task stall the kernel mid-copy at a chosen page, the usual lever for exploiting kernel races"),
	refuse("io_uring_setup", nr{425, 425}, "kernel attack surface", "io_uring: many kernel escalations, and its requests bypass seccomp (they are not system calls)"),
	refuse("io_uring_enter", nr{426, 426}, "kernel attack surface", "io_uring, as io_uring_setup"),
	refuse("io_uring_register", nr{427, 427}, "kernel attack surface", "io_uring, as io_uring_setup"),

	// Keys.
	refuse("keyctl", nr{250, 219}, "kernel keyring", "the kernel keyring is not namespaced: keys of the user (other tasks, runwire) are reachable, and it is a frequent exploit target"),
	refuse("add_key", nr{248, 217}, "kernel keyring", "as keyctl"),
	refuse("request_key", nr{249, 218}, "kernel keyring", "as keyctl"),

	// Replacing the kernel.
	refuse("kexec_load", nr{246, 104}, "kernel replacement", "boots another kernel"),
	refuse("kexec_file_load", nr{320, 294}, "kernel replacement", "boots another kernel"),
	refuse("init_module", nr{175, 105}, "kernel replacement", "loads code into the kernel"),
	refuse("finit_module", nr{313, 273}, "kernel replacement", "loads code into the kernel"),
	refuse("delete_module", nr{176, 106}, "kernel replacement", "unloads a kernel module"),

	// Files by handle, attributes, device nodes.
	refuse("open_by_handle_at", nr{304, 265}, "file handles", "opens any file of a file system by its handle, past every directory permission and Landlock rule (the 'shocker' container escape)"),
	refuse("name_to_handle_at", nr{303, 264}, "file handles", "makes the handles open_by_handle_at takes, and leaks inode identities"),
	refuse("setxattr", nr{188, 5}, "extended attributes", whyXattr),
	refuse("lsetxattr", nr{189, 6}, "extended attributes", whyXattr),
	refuse("fsetxattr", nr{190, 7}, "extended attributes", whyXattr),
	refuse("setxattrat", nr{463, 463}, "extended attributes", whyXattr),
	refuse("removexattr", nr{197, 14}, "extended attributes", whyXattr),
	refuse("lremovexattr", nr{198, 15}, "extended attributes", whyXattr),
	refuse("fremovexattr", nr{199, 16}, "extended attributes", whyXattr),
	refuse("removexattrat", nr{466, 466}, "extended attributes", whyXattr),
	refuse("mknod", nr{133, -1}, "device nodes", "creates device nodes (a node of the host's disk is the disk)"),
	refuse("mknodat", nr{259, 33}, "device nodes", "as mknod"),

	// The machine.
	refuse("acct", nr{163, 89}, "the machine", "switches process accounting on, to a file of the caller's choice"),
	refuse("swapon", nr{167, 224}, "the machine", "changes the machine's swap"),
	refuse("swapoff", nr{168, 225}, "the machine", "changes the machine's swap"),
	refuse("reboot", nr{169, 142}, "the machine", "reboots or halts the machine (or, in a PID namespace, ends it)"),
	refuse("syslog", nr{103, 116}, "the machine", "reads or clears the kernel log, which holds kernel addresses and other tasks' traces"),
	{
		name: "personality", nr: nr{135, 92}, group: "the machine", errno: syscall.EPERM,
		why:     "beyond PER_LINUX (and the query 0xffffffff): ADDR_NO_RANDOMIZE turns address randomisation off for what the task starts, READ_IMPLIES_EXEC makes memory executable",
		test:    func(SeccompPolicy) argTests { return argTests{{arg: 0, allowOnly: []uint32{perLinux, personaQuery}}} },
		refused: "when argument 0 is neither 0 nor 0xffffffff",
	},

	// SysV IPC, where the task has no IPC namespace of its own.
	sysv("shmget", nr{29, 194}, whySysV),
	sysv("shmat", nr{30, 196}, whySysV+" (an id can be guessed without shmget)"),
	sysv("shmctl", nr{31, 195}, whySysV),
	sysv("shmdt", nr{67, 197}, whySysV),
	sysv("semget", nr{64, 190}, whySysV),
	sysv("semop", nr{65, 193}, whySysV),
	sysv("semtimedop", nr{220, 192}, whySysV),
	sysv("semctl", nr{66, 191}, whySysV),
	sysv("msgget", nr{68, 186}, whySysV),
	sysv("msgsnd", nr{69, 189}, whySysV),
	sysv("msgrcv", nr{70, 188}, whySysV),
	sysv("msgctl", nr{71, 187}, whySysV),

	// Sockets: the network unless RUNWIRE_PYTHON_NETWORK=allow, and the host's unix sockets
	// wherever the task shares the host's mounts.
	{
		name: "socket", nr: nr{41, 198}, group: "sockets", errno: syscall.EPERM, when: socketChecked,
		why: "every family but AF_UNIX reaches a network (or the kernel's netlink and packet interfaces, more attack surface), and AF_UNIX reaches the host's unix sockets by path (`/run/…`, a mounted `docker.sock`: neither the network namespace nor Landlock covers a pathname socket) and, with the host's network, its abstract ones, while the task has no mount namespace of its own hiding them. socketpair stays, for Python's own machinery",
		refused: "AF_UNIX (argument 0 = 1) always while the task shares the host's mounts (today: every task; its mount namespace holds only its tmpfs and /proc), " +
			"every other family unless `RUNWIRE_PYTHON_NETWORK=allow`",
		test: func(p SeccompPolicy) argTests {
			switch {
			case p.AllowNetwork: // and not PrivateMounts (socketChecked)
				return argTests{{arg: 0, refuseIn: []uint32{afUnix}}}
			case p.PrivateMounts:
				return argTests{{arg: 0, allowOnly: []uint32{afUnix}}}
			}
			return nil // every socket() refused
		},
	},
	{
		name: "socketpair", nr: nr{53, 199}, group: "sockets", errno: syscall.EPERM, when: socketChecked,
		why: "a datagram pair's end can be pointed at any unix socket (`sendto` or `connect` with a path or an abstract name), which makes it socket(AF_UNIX) by another name; stream and seqpacket pairs, which Python's own machinery uses (`socket.socketpair()`, multiprocessing), are connected for good. Other families are the network, as for socket",
		refused: "while the task shares the host's mounts, unless its type (argument 1 & 0xf) is SOCK_STREAM or SOCK_SEQPACKET; " +
			"a family (argument 0) other than AF_UNIX unless `RUNWIRE_PYTHON_NETWORK=allow`",
		test: func(p SeccompPolicy) argTests {
			var tests argTests
			if !p.AllowNetwork {
				tests = append(tests, argTest{arg: 0, allowOnly: []uint32{afUnix}})
			}
			if !p.PrivateMounts {
				tests = append(tests, argTest{arg: 1, mask: sockTypeMask, allowOnly: []uint32{sockStream, sockSeqpacket}})
			}
			return tests
		},
	},
}

// socketChecked: socket() and socketpair() have something to refuse, unless the task has the
// network and a view of its own without the host's unix sockets.
func socketChecked(p SeccompPolicy) bool { return !p.AllowNetwork || !p.PrivateMounts }
