package python

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/net/bpf"
)

// SeccompPolicy says which of seccompList applies to a task, and for which architecture.
// It is built once in Go, compiled by Program, handed to the zygote in its config line and
// installed by every child before its hello.
type SeccompPolicy struct {
	// Arch is a GOARCH: "amd64" or "arm64" (others have no program).
	Arch string
	// AllowNetwork is RUNWIRE_PYTHON_NETWORK=allow: socket() then refuses only AF_UNIX (and
	// only where PrivateMounts does not hold).
	AllowNetwork bool
	// TaskIPCNamespace: each task has an IPC namespace of its own (not one shared with the
	// other tasks of the zygote), so SysV IPC reaches no one else and stays allowed.
	TaskIPCNamespace bool
	// PrivateMounts: each task has a mount namespace of its own that hides the host's unix
	// sockets, so socket(AF_UNIX) stays allowed.
	PrivateMounts bool
}

// taskSeccompPolicy is the policy for tasks on this machine: where the zygote has namespaces
// each task has an IPC namespace of its own (taskIPC); the tasks' mount namespaces do not
// hide the host's unix sockets.
func taskSeccompPolicy(allowNetwork, taskIPC bool) SeccompPolicy {
	return SeccompPolicy{Arch: runtime.GOARCH, AllowNetwork: allowNetwork, TaskIPCNamespace: taskIPC}
}

// SeccompRule is one refused system call of a policy, on its architecture.
type SeccompRule struct {
	Syscall string
	Number  int
	Group   string
	Why     string
	Errno   syscall.Errno
	// Condition says when the call is refused ("" for always).
	Condition string
}

// argTest is a check of one argument's low 32 bits (the kernel reads int and unsigned int
// arguments, and clone's flags, from those), after an AND with mask where mask is not 0 (a
// socket type without its SOCK_NONBLOCK and SOCK_CLOEXEC flags): the call is refused when any
// bit of refuseAny is set, when the value is one of refuseIn, or when allowOnly is not empty
// and the value is none of it. The zero value refuses the call whatever its arguments.
type argTest struct {
	arg       int
	mask      uint32
	refuseAny uint32
	refuseIn  []uint32
	allowOnly []uint32
}

// argTests are the checks of one call: it is refused when any of them refuses it. None: the
// call is refused whatever its arguments.
type argTests []argTest

func (t argTest) always() bool {
	return t.refuseAny == 0 && len(t.refuseIn) == 0 && len(t.allowOnly) == 0
}

func (t argTest) String() string {
	arg := fmt.Sprintf("argument %d", t.arg)
	if t.mask != 0 {
		arg = fmt.Sprintf("argument %d & 0x%x", t.arg, t.mask)
	}
	switch {
	case t.refuseAny != 0:
		return fmt.Sprintf("%s has any of 0x%x", arg, t.refuseAny)
	case len(t.refuseIn) > 0:
		return fmt.Sprintf("%s is %s", arg, hexList(t.refuseIn))
	case len(t.allowOnly) > 0:
		return fmt.Sprintf("%s is not %s", arg, hexList(t.allowOnly))
	}
	return ""
}

func hexList(values []uint32) string {
	vals := make([]string, len(values))
	for i, v := range values {
		vals[i] = fmt.Sprintf("0x%x", v)
	}
	return strings.Join(vals, " or ")
}

func (ts argTests) String() string {
	parts := make([]string, 0, len(ts))
	for _, t := range ts {
		if s := t.String(); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", or ")
}

// Rules lists the calls the policy refuses on its architecture, in the program's order.
func (p SeccompPolicy) Rules() []SeccompRule {
	var out []SeccompRule
	for _, e := range seccompList {
		n := e.number(p.Arch)
		if n < 0 || (e.when != nil && !e.when(p)) {
			continue
		}
		r := SeccompRule{Syscall: e.name, Number: n, Group: e.group, Why: e.why, Errno: e.errno}
		if e.test != nil {
			r.Condition = e.test(p).String()
		}
		out = append(out, r)
	}
	return out
}

func (e listEntry) number(arch string) int {
	switch arch {
	case "amd64":
		return e.nr.amd64
	case "arm64":
		return e.nr.arm64
	}
	return -1
}

// The kernel's seccomp ABI (linux/seccomp.h, linux/audit.h).
const (
	seccompRetAllow = 0x7fff0000
	seccompRetErrno = 0x00050000

	auditArchX86_64  = 0xC000003E
	auditArchAArch64 = 0xC00000B7
	// x32SyscallBit marks an x32 call on x86_64: same AUDIT_ARCH, other numbers.
	x32SyscallBit = 0x40000000

	// Offsets in struct seccomp_data: nr, arch, instruction_pointer, args[6]; both
	// architectures are little-endian, so an argument's low word comes first.
	offNr   = 0
	offArch = 4
	offArgs = 16

	maxSeccompInstructions = 4096 // BPF_MAXINSNS
)

// ErrNoSeccompArch is Program's error for an architecture the list has no numbers for.
var ErrNoSeccompArch = errors.New("seccomp: no system call list for this architecture (runwire knows amd64 and arm64)")

// SeccompProgram is a compiled policy: classic BPF as the kernel takes it.
type SeccompProgram struct {
	Instructions []bpf.RawInstruction
	Rules        int // refused system calls, as Rules lists them
}

// Bytes is the program as an array of struct sock_filter (u16 code, u8 jt, u8 jf, u32 k),
// in the byte order of amd64 and arm64 (little-endian): what the child hands to the kernel.
func (s SeccompProgram) Bytes() []byte {
	out := make([]byte, 0, 8*len(s.Instructions))
	for _, in := range s.Instructions {
		out = binary.LittleEndian.AppendUint16(out, in.Op)
		out = append(out, in.Jt, in.Jf)
		out = binary.LittleEndian.AppendUint32(out, in.K)
	}
	return out
}

// Program compiles the policy. After the architecture checks, the program is a binary search
// over the refused calls' numbers, ending in short runs of equality tests; every path ends in
// its own return, so each subtree stands alone and every jump is short (classic BPF's
// conditional jumps reach at most 255 instructions):
//
//	arch != ours (i386 on amd64, arm32 on arm64)  -> EPERM
//	x32 call (amd64)                              -> EPERM
//	nr == listed[i] (and its argument test fails) -> its errno
//	otherwise                                     -> allow
//
// Only refused calls with an argument check ever load an argument, so for every other call
// the result depends on the number alone and the kernel (5.11+) caches it per number: an
// allowed call costs no filter run at all. The kernel fills that cache when the filter is
// installed, by running the filter once per number: a search keeps that to a few
// instructions a number (with a straight list of the 67 tests, installing cost each child
// about 0.29 ms of CPU here; with the search 0.13 ms, of which a one-instruction filter takes 0.10).
func (p SeccompPolicy) Program() (SeccompProgram, error) {
	var arch uint32
	switch p.Arch {
	case "amd64":
		arch = auditArchX86_64
	case "arm64":
		arch = auditArchAArch64
	default:
		return SeccompProgram{}, fmt.Errorf("%w: %s", ErrNoSeccompArch, p.Arch)
	}
	eperm := bpf.RetConstant{Val: seccompRetErrno | uint32(syscall.EPERM)}
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: offArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: arch, SkipTrue: 1},
		eperm,
		bpf.LoadAbsolute{Off: offNr, Size: 4},
	}
	if p.Arch == "amd64" {
		prog = append(prog,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32SyscallBit, SkipFalse: 1},
			eperm)
	}
	var refused []compiledRule
	for _, e := range seccompList {
		n := e.number(p.Arch)
		if n < 0 || (e.when != nil && !e.when(p)) {
			continue
		}
		r := compiledRule{nr: uint32(n), errno: e.errno} //nolint:gosec // numbers below 1000
		if e.test != nil {
			r.tests = e.test(p)
		}
		refused = append(refused, r)
	}
	slices.SortFunc(refused, func(a, b compiledRule) int { return cmp.Compare(a.nr, b.nr) })
	search, err := searchTree(refused)
	if err != nil {
		return SeccompProgram{}, err
	}
	prog = append(prog, search...)
	if len(prog) > maxSeccompInstructions {
		return SeccompProgram{}, fmt.Errorf("seccomp: the program has %d instructions, more than the kernel's %d", len(prog), maxSeccompInstructions)
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return SeccompProgram{}, fmt.Errorf("seccomp: failed to assemble the program: %w", err)
	}
	return SeccompProgram{Instructions: raw, Rules: len(refused)}, nil
}

// compiledRule is one refused call of a policy, as the program tests it.
type compiledRule struct {
	nr    uint32
	errno syscall.Errno
	tests argTests
}

// leafRules is how many calls a run of equality tests at the end of the search holds.
const leafRules = 4

// searchTree is the program for rules (sorted by number, A holding the call's number): a
// test against the middle number, then the lower half's subtree, then the upper half's.
func searchTree(rules []compiledRule) ([]bpf.Instruction, error) {
	allow := bpf.RetConstant{Val: seccompRetAllow}
	if len(rules) <= leafRules {
		var out []bpf.Instruction
		for _, r := range rules {
			block := r.block()
			out = append(out, bpf.JumpIf{Cond: bpf.JumpEqual, Val: r.nr, SkipFalse: uint8(len(block))}) //nolint:gosec // a block is a few instructions
			out = append(out, block...)
		}
		return append(out, allow), nil
	}
	mid := len(rules) / 2
	lower, err := searchTree(rules[:mid])
	if err != nil {
		return nil, err
	}
	upper, err := searchTree(rules[mid:])
	if err != nil {
		return nil, err
	}
	if len(lower) > 255 {
		return nil, fmt.Errorf("seccomp: a branch of %d instructions is too long for a BPF jump", len(lower))
	}
	out := []bpf.Instruction{bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: rules[mid].nr, SkipTrue: uint8(len(lower))}} //nolint:gosec // checked above: at most 255
	out = append(out, lower...)
	return append(out, upper...), nil
}

// block is what follows a match of the rule's number: its refusal, or its argument tests in
// turn (each one's refusal, or on to the next) and, after the last, the allow.
func (r compiledRule) block() []bpf.Instruction {
	refused := bpf.RetConstant{Val: seccompRetErrno | uint32(r.errno)} //nolint:gosec // EPERM or ENOSYS
	allow := bpf.RetConstant{Val: seccompRetAllow}
	var out []bpf.Instruction
	for _, t := range r.tests {
		if t.always() {
			return []bpf.Instruction{refused}
		}
		out = append(out, t.block(refused)...)
	}
	if len(out) == 0 {
		return []bpf.Instruction{refused}
	}
	return append(out, allow)
}

// block is one argument test: it returns refused when the test refuses the call, and falls
// through to what follows otherwise.
func (t argTest) block(refused bpf.Instruction) []bpf.Instruction {
	out := []bpf.Instruction{bpf.LoadAbsolute{Off: uint32(offArgs + 8*t.arg), Size: 4}} //nolint:gosec // arg is 0..5
	if t.mask != 0 {
		out = append(out, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: t.mask})
	}
	switch {
	case t.refuseAny != 0:
		return append(out, bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: t.refuseAny, SkipFalse: 1}, refused)
	case len(t.refuseIn) > 0:
		k := len(t.refuseIn)
		for i, v := range t.refuseIn {
			if i == k-1 {
				out = append(out, bpf.JumpIf{Cond: bpf.JumpEqual, Val: v, SkipFalse: 1})
			} else {
				out = append(out, bpf.JumpIf{Cond: bpf.JumpEqual, Val: v, SkipTrue: uint8(k - 1 - i)}) //nolint:gosec // a few values
			}
		}
		return append(out, refused)
	}
	k := len(t.allowOnly)
	for i, v := range t.allowOnly {
		out = append(out, bpf.JumpIf{Cond: bpf.JumpEqual, Val: v, SkipTrue: uint8(k - i)}) //nolint:gosec // a few values
	}
	return append(out, refused)
}

// seccompGroups names the groups of a policy's rules, in order, for the start-up line.
func seccompGroups(rules []SeccompRule) string {
	var groups []string
	for _, r := range rules {
		if len(groups) == 0 || groups[len(groups)-1] != r.Group {
			groups = append(groups, r.Group)
		}
	}
	return strings.Join(groups, ", ")
}

// SeccompTable is the list as docs/python-executor.md shows it: one row per entry, with its
// numbers on both architectures and when it applies. A spec checks that the document holds it.
func SeccompTable() string {
	var b strings.Builder
	b.WriteString("| system call | amd64 | arm64 | refused | with | why |\n|---|---|---|---|---|---|\n")
	for _, e := range seccompList {
		when := e.refused
		if when == "" {
			when = "always"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", e.name, num(e.nr.amd64), num(e.nr.arm64), when, errnoName(e.errno), e.why)
	}
	return b.String()
}

func num(n int) string {
	if n < 0 {
		return "—"
	}
	return fmt.Sprint(n)
}

func errnoName(e syscall.Errno) string {
	switch e {
	case syscall.EPERM:
		return "EPERM"
	case syscall.ENOSYS:
		return "ENOSYS"
	}
	return fmt.Sprint(int(e))
}
