package python_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"unsafe"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/runwire/runwire/python"
)

// fullChainEnv marks the copy of this suite that runs with no room left in its seccomp
// filter chain, so that the kernel refuses every further filter (ENOMEM).
const fullChainEnv = "RUNWIRE_SPEC_SECCOMP_CHAIN_FULL"

var _ = Describe("The seccomp filter, where the kernel refuses it", Label("integration", "walls"), func() {
	const name = "fails closed: no Python task runs, and runwire says why"

	It(name, func(ctx SpecContext) {
		if _, err := (python.SeccompPolicy{Arch: runtime.GOARCH}).Program(); err != nil {
			Skip("no seccomp list for " + runtime.GOARCH + ": " + err.Error())
		}
		if os.Getenv(fullChainEnv) == "" {
			// A filter chain cannot be undone, so the spec runs itself again in a fresh copy of
			// this suite, whose every thread (and so the zygote runwire starts) carries it.
			cmd := exec.CommandContext(ctx, os.Args[0], "-ginkgo.focus="+name, "-ginkgo.label-filter=walls") //nolint:gosec // this suite's own binary
			cmd.Env = append(os.Environ(), fullChainEnv+"=1")
			out, err := cmd.CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
			Expect(string(out)).To(ContainSubstring("1 Passed"), string(out))
			return
		}
		fillSeccompChain()
		r := newRig(ctx, stdlib("*"))
		err := r.py.Ready(ctx)
		Expect(err).To(MatchError(ContainSubstring("the kernel refused the seccomp filter every Python task must run under")))
		Expect(err).To(MatchError(ContainSubstring("Cannot allocate memory")), "the kernel's reason")
		st, _ := r.py.State()
		Expect(st).To(Equal(python.Unavailable), "every task is answered at once with the reason")
		Expect(r.py.Problem()).To(ContainSubstring("the kernel refused the seccomp filter"))
		Expect(r.py.Walls().Seccomp).To(BeZero())
	}, SpecTimeout(slowTimeout))
})

// fillSeccompChain installs, on every thread of this process, allow-everything filters until
// the kernel's limit on a chain's length (MAX_INSNS_PER_PATH) leaves no room for another.
// Each filter jumps straight to its return, so the chain costs each system call little.
func fillSeccompChain() {
	GinkgoHelper()
	runtime.LockOSThread() // no_new_privs is per thread; TSYNC extends it with the filter
	defer runtime.UnlockOSThread()
	Expect(unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)).To(Succeed())
	installed := 0
	for size := 4096; size >= 1; {
		err := installAllowAll(size)
		switch {
		case err == nil:
			installed++
		case errors.Is(err, unix.ENOMEM):
			size /= 2
		default:
			Expect(err).NotTo(HaveOccurred(), "a filler filter of %d instructions", size)
		}
	}
	Expect(installed).To(BeNumerically(">", 0))
}

func installAllowAll(size int) error {
	prog := []bpf.Instruction{}
	if size > 1 {
		prog = append(prog, bpf.Jump{Skip: uint32(size - 2)}) //nolint:gosec // at most 4094
		for range size - 2 {
			prog = append(prog, bpf.LoadConstant{Dst: bpf.RegA, Val: 0})
		}
	}
	prog = append(prog, bpf.RetConstant{Val: 0x7fff0000})
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return err
	}
	fprog := unix.SockFprog{Len: uint16(len(raw)), Filter: (*unix.SockFilter)(unsafe.Pointer(&raw[0]))} //nolint:gosec // RawInstruction is struct sock_filter
	tid, _, errno := unix.Syscall(unix.SYS_SECCOMP, 1 /* SECCOMP_SET_MODE_FILTER */, 1 /* SECCOMP_FILTER_FLAG_TSYNC */, uintptr(unsafe.Pointer(&fprog)))
	switch {
	case errno != 0:
		return errno
	case tid != 0:
		return fmt.Errorf("thread %d could not take the filter", tid)
	}
	return nil
}
