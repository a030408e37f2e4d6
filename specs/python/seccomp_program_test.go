package python_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/runwire/runwire/python"
)

// The seccomp program runwire compiles, run through golang.org/x/net/bpf's VM for each
// architecture, call and argument: what the kernel would answer, without a kernel.

// The kernel's answers (linux/seccomp.h) and the architectures' AUDIT_ARCH values.
const (
	retAllow = 0x7fff0000
	retErrno = 0x00050000

	archX86_64  = 0xC000003E
	archI386    = 0x40000003
	archAArch64 = 0xC00000B7
	archARM     = 0x40000028
)

// call is one system call as seccomp sees it (struct seccomp_data).
type call struct {
	arch uint32
	nr   uint32
	args [6]uint64
}

// seccompData lays a call out for the VM. The kernel loads native (little-endian) 32-bit
// words; the VM loads big-endian ones, so each word is written big-endian at its offset, and
// an argument's low word comes first, as on amd64 and arm64.
func (c call) seccompData() []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], c.nr)
	binary.BigEndian.PutUint32(b[4:], c.arch)
	for i, a := range c.args {
		binary.BigEndian.PutUint32(b[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[20+8*i:], uint32(a>>32))
	}
	return b
}

// verdict runs the policy's program on c and returns the kernel's action.
func verdict(p python.SeccompPolicy, c call) uint32 {
	GinkgoHelper()
	prog, err := p.Program()
	Expect(err).NotTo(HaveOccurred())
	ins, allDecoded := bpf.Disassemble(prog.Instructions)
	Expect(allDecoded).To(BeTrue(), "every instruction is one the VM (and the kernel) knows")
	vm, err := bpf.NewVM(ins)
	Expect(err).NotTo(HaveOccurred())
	out, err := vm.Run(c.seccompData())
	Expect(err).NotTo(HaveOccurred())
	return uint32(out) //nolint:gosec // the VM returns the 32-bit constant as an int
}

func refusedWith(e syscall.Errno) uint32 { return retErrno | uint32(e) }

// numbers of the calls the specs make besides the listed ones, per architecture.
type archCalls struct {
	arch                                                                string
	audit, foreign                                                      uint32
	read, openat, write, socketpair, clone, personality, socket, shmget uint32
}

var arches = []archCalls{
	{arch: "amd64", audit: archX86_64, foreign: archI386, read: 0, openat: 257, write: 1, socketpair: 53, clone: 56, personality: 135, socket: 41, shmget: 29},
	{arch: "arm64", audit: archAArch64, foreign: archARM, read: 63, openat: 56, write: 64, socketpair: 199, clone: 220, personality: 92, socket: 198, shmget: 194},
}

const (
	cloneNewUser   = 0x10000000
	cloneNewNet    = 0x40000000
	cloneNewNS     = 0x00020000
	cloneNewCgroup = 0x02000000
	sigchld        = 17
	// glibc's pthread_create flags: VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID.
	cloneThread = 0x3d0f00
	// glibc's posix_spawn: CLONE_VM|CLONE_VFORK|SIGCHLD.
	cloneSpawn = 0x4000 | 0x100 | sigchld

	addrNoRandomize = 0x0040000
	perLinux32      = 0x0008
	afInet          = 2
	afInet6         = 10
	afNetlink       = 16
	afPacket        = 17
	afTIPC          = 30
)

var _ = Describe("The seccomp program", Label("unit"), func() {
	for _, a := range arches {
		base := python.SeccompPolicy{Arch: a.arch}
		on := func(nr uint32, args ...uint64) call {
			c := call{arch: a.audit, nr: nr}
			copy(c.args[:], args)
			return c
		}

		Describe("on "+a.arch, func() {
			It("refuses every listed call with its errno, whatever the other calls", func() {
				rules := base.Rules()
				Expect(rules).NotTo(BeEmpty())
				for _, r := range rules {
					var args []uint64
					switch r.Syscall {
					case "clone":
						args = []uint64{cloneNewUser | sigchld}
					case "personality":
						args = []uint64{addrNoRandomize}
					case "socket":
						args = []uint64{afInet}
					case "socketpair":
						args = []uint64{syscall.AF_UNIX, syscall.SOCK_DGRAM}
					}
					Expect(verdict(base, on(uint32(r.Number), args...))).To(Equal(refusedWith(r.Errno)), r.Syscall) //nolint:gosec // small numbers
				}
			})

			It("allows what the list does not name", func() {
				for _, nr := range []uint32{a.read, a.openat, a.write, 500} {
					Expect(verdict(base, on(nr))).To(Equal(uint32(retAllow)), "call %d", nr)
				}
				Expect(verdict(base, on(a.socketpair, syscall.AF_UNIX, syscall.SOCK_STREAM))).To(Equal(uint32(retAllow)))
			})

			It("answers clone3 with ENOSYS, so that glibc falls back to clone", func() {
				Expect(verdict(base, on(435))).To(Equal(refusedWith(syscall.ENOSYS)))
			})

			It("refuses clone with any namespace flag, reading only the flags' low 32 bits as the kernel does", func() {
				for _, flags := range []uint64{cloneNewUser | sigchld, cloneNewNet, cloneNewNS | sigchld, cloneNewCgroup, 0xffffffff_00000000 | cloneNewUser} {
					Expect(verdict(base, on(a.clone, flags))).To(Equal(refusedWith(syscall.EPERM)), "flags %#x", flags)
				}
				for _, flags := range []uint64{sigchld, cloneThread, cloneSpawn, 0xffffffff_00000000 | sigchld} {
					Expect(verdict(base, on(a.clone, flags))).To(Equal(uint32(retAllow)), "flags %#x", flags)
				}
			})

			It("allows personality only for PER_LINUX and the query", func() {
				Expect(verdict(base, on(a.personality, 0))).To(Equal(uint32(retAllow)))
				Expect(verdict(base, on(a.personality, 0xffffffff))).To(Equal(uint32(retAllow)))
				for _, persona := range []uint64{addrNoRandomize, perLinux32, 0x0400000} {
					Expect(verdict(base, on(a.personality, persona))).To(Equal(refusedWith(syscall.EPERM)), "persona %#x", persona)
				}
			})

			It("refuses socket() of every family, AF_UNIX too, while the task shares the host's mounts", func() {
				for _, family := range []uint64{syscall.AF_UNIX, afInet, afInet6, afNetlink, afPacket} {
					Expect(verdict(base, on(a.socket, family, syscall.SOCK_STREAM))).To(Equal(refusedWith(syscall.EPERM)), "family %d", family)
				}
				Expect(verdict(base, on(a.socketpair, syscall.AF_UNIX, syscall.SOCK_STREAM))).To(Equal(uint32(retAllow)))
			})

			It("allows socket(AF_UNIX) alone where the task has its own mount namespace", func() {
				p := base
				p.PrivateMounts = true
				Expect(verdict(p, on(a.socket, syscall.AF_UNIX))).To(Equal(uint32(retAllow)))
				for _, family := range []uint64{afInet, afInet6, afNetlink, afPacket, 0xffffffff_00000000 | afInet} {
					Expect(verdict(p, on(a.socket, family))).To(Equal(refusedWith(syscall.EPERM)), "family %#x", family)
				}
			})

			It("refuses socket(AF_UNIX) alone with RUNWIRE_PYTHON_NETWORK=allow, while the task shares the host's mounts", func() {
				p := base
				p.AllowNetwork = true
				for _, family := range []uint64{afInet, afInet6, afNetlink, 0xffffffff_00000000 | afInet} {
					Expect(verdict(p, on(a.socket, family, syscall.SOCK_STREAM))).To(Equal(uint32(retAllow)), "family %#x", family)
				}
				for _, typ := range []uint64{syscall.SOCK_STREAM, syscall.SOCK_DGRAM, syscall.SOCK_SEQPACKET, syscall.SOCK_STREAM | syscall.SOCK_CLOEXEC} {
					Expect(verdict(p, on(a.socket, syscall.AF_UNIX, typ))).To(Equal(refusedWith(syscall.EPERM)), "type %#x", typ)
				}
				Expect(p.Rules()).To(HaveLen(len(base.Rules())))
			})

			It("leaves socket() and socketpair() alone with the network allowed and mounts of the task's own", func() {
				p := base
				p.AllowNetwork, p.PrivateMounts = true, true
				for _, family := range []uint64{syscall.AF_UNIX, afInet, afInet6, afNetlink} {
					Expect(verdict(p, on(a.socket, family))).To(Equal(uint32(retAllow)), "family %d", family)
				}
				Expect(verdict(p, on(a.socketpair, syscall.AF_UNIX, syscall.SOCK_DGRAM))).To(Equal(uint32(retAllow)))
				Expect(p.Rules()).To(HaveLen(len(base.Rules()) - 2))
			})

			It("refuses datagram socketpairs (whose ends can be pointed at any unix socket) while the task shares the host's mounts", func() {
				for _, network := range []bool{false, true} {
					p := base
					p.AllowNetwork = network
					for _, typ := range []uint64{syscall.SOCK_STREAM, syscall.SOCK_SEQPACKET, syscall.SOCK_STREAM | syscall.SOCK_CLOEXEC | syscall.SOCK_NONBLOCK, 0xffffffff_00000000 | syscall.SOCK_STREAM} {
						Expect(verdict(p, on(a.socketpair, syscall.AF_UNIX, typ))).To(Equal(uint32(retAllow)), "network %v, type %#x", network, typ)
					}
					// SOCK_RAW is a datagram socket to AF_UNIX.
					for _, typ := range []uint64{syscall.SOCK_DGRAM, syscall.SOCK_RAW, syscall.SOCK_DGRAM | syscall.SOCK_CLOEXEC, 0, 0xf} {
						Expect(verdict(p, on(a.socketpair, syscall.AF_UNIX, typ))).To(Equal(refusedWith(syscall.EPERM)), "network %v, type %#x", network, typ)
					}
				}
				p := base
				p.PrivateMounts = true
				Expect(verdict(p, on(a.socketpair, syscall.AF_UNIX, syscall.SOCK_DGRAM))).To(Equal(uint32(retAllow)), "socket(AF_UNIX) is allowed there too")
			})

			It("refuses socketpair() of a family other than AF_UNIX unless the network is allowed", func() {
				for _, private := range []bool{false, true} {
					p := base
					p.PrivateMounts = private
					Expect(verdict(p, on(a.socketpair, afTIPC, syscall.SOCK_STREAM))).To(Equal(refusedWith(syscall.EPERM)), "mounts of its own: %v", private)
				}
				p := base
				p.AllowNetwork = true
				Expect(verdict(p, on(a.socketpair, afTIPC, syscall.SOCK_STREAM))).To(Equal(uint32(retAllow)))
			})

			It("refuses SysV IPC unless the task has an IPC namespace of its own", func() {
				Expect(verdict(base, on(a.shmget))).To(Equal(refusedWith(syscall.EPERM)))
				p := base
				p.TaskIPCNamespace = true
				Expect(verdict(p, on(a.shmget))).To(Equal(uint32(retAllow)))
				Expect(p.Rules()).To(HaveLen(len(base.Rules()) - 12))
			})

			It("refuses every call of a foreign architecture (i386 on amd64, arm32 on arm64), even one it would allow", func() {
				c := on(a.read)
				c.arch = a.foreign
				Expect(verdict(base, c)).To(Equal(refusedWith(syscall.EPERM)))
			})

			It("counts its rules as Rules lists them, and fits the kernel's limits", func() {
				prog, err := base.Program()
				Expect(err).NotTo(HaveOccurred())
				Expect(prog.Rules).To(Equal(len(base.Rules())))
				Expect(len(prog.Instructions)).To(BeNumerically("<=", 4096))
				Expect(prog.Bytes()).To(HaveLen(8 * len(prog.Instructions)))
				// seccomp takes only 32-bit loads at 4-byte offsets inside struct seccomp_data.
				ins, _ := bpf.Disassemble(prog.Instructions)
				for _, in := range ins {
					if ld, ok := in.(bpf.LoadAbsolute); ok {
						Expect(ld.Size).To(Equal(4))
						Expect(ld.Off % 4).To(BeZero())
						Expect(ld.Off).To(BeNumerically("<", 64))
					}
				}
			})
		})
	}

	It("refuses x32 calls on amd64", func() {
		Expect(verdict(python.SeccompPolicy{Arch: "amd64"}, call{arch: archX86_64, nr: 0x40000000})).To(Equal(refusedWith(syscall.EPERM)))
	})

	It("has no mknod on arm64, which has only mknodat", func() {
		var names []string
		for _, r := range (python.SeccompPolicy{Arch: "arm64"}).Rules() {
			names = append(names, r.Syscall)
		}
		Expect(names).To(ContainElement("mknodat"))
		Expect(names).NotTo(ContainElement("mknod"))
	})

	It("is the list docs/python-executor.md shows, row for row", func() {
		doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "python-executor.md"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(doc)).To(ContainSubstring(python.SeccompTable()), "paste python.SeccompTable() into the Seccomp section")
	})

	It("has no program for another architecture, and says so", func() {
		_, err := python.SeccompPolicy{Arch: "riscv64"}.Program()
		Expect(errors.Is(err, python.ErrNoSeccompArch)).To(BeTrue())
	})

	It("uses the numbers golang.org/x/sys/unix has for this architecture ("+runtime.GOARCH+")", func() {
		rules := python.SeccompPolicy{Arch: runtime.GOARCH}.Rules()
		Expect(rules).NotTo(BeEmpty(), "runwire has a list for the architecture its specs run on")
		for _, r := range rules {
			if r.Syscall == "mknod" {
				Expect(r.Number).To(Equal(133), "mknod exists on amd64 only, so it is not in the map below")
				continue
			}
			Expect(unixNumbers).To(HaveKeyWithValue(r.Syscall, r.Number), r.Syscall)
		}
	})
})

// unixNumbers holds golang.org/x/sys/unix's numbers of the listed calls that both
// architectures have.
var unixNumbers = map[string]int{
	"ptrace": unix.SYS_PTRACE, "process_vm_readv": unix.SYS_PROCESS_VM_READV, "process_vm_writev": unix.SYS_PROCESS_VM_WRITEV,
	"process_madvise": unix.SYS_PROCESS_MADVISE, "kcmp": unix.SYS_KCMP, "pidfd_getfd": unix.SYS_PIDFD_GETFD,
	"mount": unix.SYS_MOUNT, "umount2": unix.SYS_UMOUNT2, "fsopen": unix.SYS_FSOPEN, "fsconfig": unix.SYS_FSCONFIG,
	"fsmount": unix.SYS_FSMOUNT, "fspick": unix.SYS_FSPICK, "move_mount": unix.SYS_MOVE_MOUNT, "open_tree": unix.SYS_OPEN_TREE,
	"open_tree_attr": unix.SYS_OPEN_TREE_ATTR, "mount_setattr": unix.SYS_MOUNT_SETATTR, "pivot_root": unix.SYS_PIVOT_ROOT,
	"chroot": unix.SYS_CHROOT, "unshare": unix.SYS_UNSHARE, "setns": unix.SYS_SETNS, "clone": unix.SYS_CLONE, "clone3": unix.SYS_CLONE3,
	"bpf": unix.SYS_BPF, "perf_event_open": unix.SYS_PERF_EVENT_OPEN, "userfaultfd": unix.SYS_USERFAULTFD,
	"io_uring_setup": unix.SYS_IO_URING_SETUP, "io_uring_enter": unix.SYS_IO_URING_ENTER, "io_uring_register": unix.SYS_IO_URING_REGISTER,
	"keyctl": unix.SYS_KEYCTL, "add_key": unix.SYS_ADD_KEY, "request_key": unix.SYS_REQUEST_KEY,
	"kexec_load": unix.SYS_KEXEC_LOAD, "kexec_file_load": unix.SYS_KEXEC_FILE_LOAD, "init_module": unix.SYS_INIT_MODULE,
	"finit_module": unix.SYS_FINIT_MODULE, "delete_module": unix.SYS_DELETE_MODULE,
	"open_by_handle_at": unix.SYS_OPEN_BY_HANDLE_AT, "name_to_handle_at": unix.SYS_NAME_TO_HANDLE_AT,
	"setxattr": unix.SYS_SETXATTR, "lsetxattr": unix.SYS_LSETXATTR, "fsetxattr": unix.SYS_FSETXATTR, "setxattrat": unix.SYS_SETXATTRAT,
	"removexattr": unix.SYS_REMOVEXATTR, "lremovexattr": unix.SYS_LREMOVEXATTR, "fremovexattr": unix.SYS_FREMOVEXATTR,
	"removexattrat": unix.SYS_REMOVEXATTRAT, "mknodat": unix.SYS_MKNODAT, "acct": unix.SYS_ACCT,
	"swapon": unix.SYS_SWAPON, "swapoff": unix.SYS_SWAPOFF, "reboot": unix.SYS_REBOOT, "syslog": unix.SYS_SYSLOG,
	"personality": unix.SYS_PERSONALITY,
	"shmget":      unix.SYS_SHMGET, "shmat": unix.SYS_SHMAT, "shmctl": unix.SYS_SHMCTL, "shmdt": unix.SYS_SHMDT,
	"semget": unix.SYS_SEMGET, "semop": unix.SYS_SEMOP, "semtimedop": unix.SYS_SEMTIMEDOP, "semctl": unix.SYS_SEMCTL,
	"msgget": unix.SYS_MSGGET, "msgsnd": unix.SYS_MSGSND, "msgrcv": unix.SYS_MSGRCV, "msgctl": unix.SYS_MSGCTL,
	"socket": unix.SYS_SOCKET, "socketpair": unix.SYS_SOCKETPAIR,
}
