// Package jail builds the seccomp filters that stand in, in the specs, for the environments
// runwire meets but this machine is not: a Docker-like container (Docker's default seccomp
// profile, as an unprivileged container gets it) and a kernel without Landlock. cmd/runwire-jail
// installs one around a command, so that runwire, and the Python it starts, inherit it; `make
// walls-matrix` runs the walls specs that way (docs/python-executor.md, "Where the walls hold").
//
// These filters simulate a refusal; they are no wall of runwire's (that is python/seccomp_*.go).
package jail

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Profile is one environment to simulate.
type Profile string

const (
	// Docker is what Docker's default seccomp profile (moby profiles/seccomp/default.json)
	// refuses a container without CAP_SYS_ADMIN, among what runwire uses: unshare, setns,
	// mount, umount2, pivot_root and clone with a CLONE_NEW* flag (EPERM), and clone3 (ENOSYS,
	// so that libc falls back to clone). Everything else stays allowed.
	Docker Profile = "docker"
	// NoLandlock is a kernel without Landlock (older than 5.13, or landlock not in lsm=): the
	// three landlock_* calls answer ENOSYS.
	NoLandlock Profile = "nolandlock"
)

// Profiles are the known profiles, in the order of the usage text.
var Profiles = []Profile{Docker, NoLandlock}

// call is one refused system call: its number on each architecture, and the errno.
type call struct {
	name         string
	amd64, arm64 uint32
	errno        syscall.Errno
	// flagsAny: refuse only when argument 0 has any of these bits (clone's namespace flags).
	flagsAny uint32
}

// CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET, the mask Docker's
// profile tests clone's flags against.
const cloneNamespaceFlags = 0x7E020000

var calls = map[Profile][]call{
	Docker: {
		{name: "unshare", amd64: 272, arm64: 97, errno: syscall.EPERM},
		{name: "setns", amd64: 308, arm64: 268, errno: syscall.EPERM},
		{name: "mount", amd64: 165, arm64: 40, errno: syscall.EPERM},
		{name: "umount2", amd64: 166, arm64: 39, errno: syscall.EPERM},
		{name: "pivot_root", amd64: 155, arm64: 41, errno: syscall.EPERM},
		{name: "clone", amd64: 56, arm64: 220, errno: syscall.EPERM, flagsAny: cloneNamespaceFlags},
		{name: "clone3", amd64: 435, arm64: 435, errno: syscall.ENOSYS},
	},
	NoLandlock: {
		{name: "landlock_create_ruleset", amd64: 444, arm64: 444, errno: syscall.ENOSYS},
		{name: "landlock_add_rule", amd64: 445, arm64: 445, errno: syscall.ENOSYS},
		{name: "landlock_restrict_self", amd64: 446, arm64: 446, errno: syscall.ENOSYS},
	},
}

// ParseProfiles reads a comma-separated list of profiles ("docker", "nolandlock", or both).
func ParseProfiles(list string) ([]Profile, error) {
	var out []Profile
	for _, name := range strings.Split(list, ",") {
		p := Profile(strings.TrimSpace(name))
		if !slices.Contains(Profiles, p) {
			return nil, fmt.Errorf("jail: unknown profile %q (known: docker, nolandlock)", name)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Names lists the calls the profiles refuse, for the jail's own line on stderr.
func Names(profiles []Profile) []string {
	var out []string
	for _, p := range profiles {
		for _, c := range calls[p] {
			out = append(out, c.name)
		}
	}
	return out
}

const (
	retAllow         = 0x7fff0000
	retErrno         = 0x00050000
	auditArchX86_64  = 0xC000003E
	auditArchAArch64 = 0xC00000B7
	x32Bit           = 0x40000000
)

// Program compiles the profiles for a GOARCH (amd64 or arm64). A call of another ABI (i386
// on amd64, arm32 on arm64, x32) gets EPERM: runwire and Python never make one, and letting
// it through would let the simulated refusal be walked around.
func Program(arch string, profiles []Profile) ([]bpf.RawInstruction, error) {
	var audit uint32
	switch arch {
	case "amd64":
		audit = auditArchX86_64
	case "arm64":
		audit = auditArchAArch64
	default:
		return nil, fmt.Errorf("jail: no system call numbers for %s (amd64 and arm64 only)", arch)
	}
	eperm := bpf.RetConstant{Val: retErrno | uint32(syscall.EPERM)}
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 4}, // seccomp_data.arch
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: audit, SkipTrue: 1},
		eperm,
		bpf.LoadAbsolute{Off: 0, Size: 4}, // seccomp_data.nr
	}
	if arch == "amd64" {
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32Bit, SkipFalse: 1}, eperm)
	}
	for _, p := range profiles {
		for _, c := range calls[p] {
			nr := c.amd64
			if arch == "arm64" {
				nr = c.arm64
			}
			refused := bpf.RetConstant{Val: retErrno | uint32(c.errno)} //nolint:gosec // EPERM or ENOSYS
			if c.flagsAny == 0 {
				prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr, SkipFalse: 1}, refused)
				continue
			}
			// nr matches: load argument 0's low word, test the flags, load nr back for the next test.
			prog = append(prog,
				bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr, SkipFalse: 4},
				bpf.LoadAbsolute{Off: 16, Size: 4},
				bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: c.flagsAny, SkipFalse: 1},
				refused,
				bpf.RetConstant{Val: retAllow},
			)
		}
	}
	prog = append(prog, bpf.RetConstant{Val: retAllow})
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("jail: failed to assemble the filter: %w", err)
	}
	return raw, nil
}

// Exec sets no_new_privs, installs the profiles' filter on every thread of this process and
// execs argv[0] with env: the command and everything it starts run under the filter. It
// returns only on failure.
func Exec(profiles []Profile, argv, env []string) error {
	if len(argv) == 0 {
		return errors.New("jail: no command to run")
	}
	raw, err := Program(runtime.GOARCH, profiles)
	if err != nil {
		return err
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, in := range raw {
		filter[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]} //nolint:gosec // a few dozen instructions
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("jail: failed to set no_new_privs: %w", err)
	}
	if err := seccomp(&prog); err != nil {
		return fmt.Errorf("jail: the kernel refused the filter: %w", err)
	}
	path := argv[0]
	if !strings.Contains(path, "/") {
		if path, err = lookPath(path, env); err != nil {
			return err
		}
	}
	return fmt.Errorf("jail: failed to run %s: %w", argv[0], syscall.Exec(path, argv, env)) //nolint:gosec // running the given command is the point
}
