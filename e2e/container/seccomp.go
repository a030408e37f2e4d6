package container

import (
	"encoding/json"
	"fmt"
	"slices"
)

// PodmanSeccompProfile is where Debian's podman (containers-common) installs its default
// seccomp profile.
const PodmanSeccompProfile = "/usr/share/containers/seccomp.json"

// sysAdminOnly are the calls Docker's default profile (moby profiles/seccomp/default.json)
// allows only to a container with CAP_SYS_ADMIN, among those podman's allows to every container:
// what makes a new namespace, enters one, or changes mounts. clone and clone3 are handled apart.
var sysAdminOnly = []string{
	"unshare", "setns",
	"mount", "umount", "umount2", "pivot_root",
	"fsconfig", "fsmount", "fsopen", "fspick", "move_mount", "open_tree", "mount_setattr",
}

// cloneNamespaceFlags are clone(2)'s CLONE_NEW* flags, which Docker's profile refuses without
// CAP_SYS_ADMIN (its mask 2114060288): NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
var cloneNamespaceFlags = []uint64{0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000}

const (
	capSysAdmin = "CAP_SYS_ADMIN"
	errnoEPERM  = 1
	errnoENOSYS = 38
)

type seccompArg struct {
	Index    uint   `json:"index"`
	Value    uint64 `json:"value"`
	ValueTwo uint64 `json:"valueTwo"`
	Op       string `json:"op"`
}

type seccompFilter struct {
	Caps      []string `json:"caps,omitempty"`
	Arches    []string `json:"arches,omitempty"`
	MinKernel string   `json:"minKernel,omitempty"`
}

// seccompRule is one entry of a profile's "syscalls", with every field containers/common's
// seccomp.Syscall has.
type seccompRule struct {
	Names    []string       `json:"names"`
	Action   string         `json:"action"`
	Args     []seccompArg   `json:"args,omitempty"`
	Includes *seccompFilter `json:"includes,omitempty"`
	Excludes *seccompFilter `json:"excludes,omitempty"`
	ErrnoRet *uint          `json:"errnoRet,omitempty"`
	Errno    string         `json:"errno,omitempty"`
	Comment  string         `json:"comment,omitempty"`
}

// DockerLikeSeccomp turns podman's default profile (the JSON of PodmanSeccompProfile) into one
// that refuses unprivileged namespace creation as Docker's default profile does: unshare, setns
// and the mount calls are allowed only with CAP_SYS_ADMIN and fail with EPERM otherwise, clone
// with any CLONE_NEW* flag fails with EPERM, and clone3 fails with ENOSYS (its flags are in
// memory, where seccomp cannot check them; ENOSYS makes libc fall back to clone). Everything
// else of podman's profile is kept as it is.
func DockerLikeSeccomp(podman []byte) ([]byte, error) {
	var profile map[string]json.RawMessage
	if err := json.Unmarshal(podman, &profile); err != nil {
		return nil, fmt.Errorf("container: the seccomp profile is not JSON: %w", err)
	}
	var rules []seccompRule
	if err := json.Unmarshal(profile["syscalls"], &rules); err != nil {
		return nil, fmt.Errorf("container: the seccomp profile's syscalls: %w", err)
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("container: the seccomp profile has no syscalls rules")
	}
	guarded := append(slices.Clone(sysAdminOnly), "clone", "clone3")
	kept := rules[:0]
	removed := 0
	for _, r := range rules {
		if r.Action == "SCMP_ACT_ALLOW" && (r.Includes == nil || !slices.Contains(r.Includes.Caps, capSysAdmin)) {
			before := len(r.Names)
			r.Names = slices.DeleteFunc(r.Names, func(n string) bool { return slices.Contains(guarded, n) })
			removed += before - len(r.Names)
			if len(r.Names) == 0 {
				continue
			}
		}
		kept = append(kept, r)
	}
	if removed == 0 {
		return nil, fmt.Errorf("container: the seccomp profile allows none of %v: not podman's default profile?", guarded)
	}
	eperm, enosys := uint(errnoEPERM), uint(errnoENOSYS)
	noSysAdmin := &seccompFilter{Caps: []string{capSysAdmin}}
	kept = append(kept,
		seccompRule{Names: guarded, Action: "SCMP_ACT_ALLOW", Includes: &seccompFilter{Caps: []string{capSysAdmin}},
			Comment: "runwire e2e, as Docker's default: namespaces and mounts only with CAP_SYS_ADMIN"},
		seccompRule{Names: slices.Clone(sysAdminOnly), Action: "SCMP_ACT_ERRNO", ErrnoRet: &eperm, Excludes: noSysAdmin},
		seccompRule{Names: []string{"clone"}, Action: "SCMP_ACT_ALLOW", Excludes: noSysAdmin,
			Args: []seccompArg{{Index: 0, Value: sum(cloneNamespaceFlags), ValueTwo: 0, Op: "SCMP_CMP_MASKED_EQ"}}},
		seccompRule{Names: []string{"clone3"}, Action: "SCMP_ACT_ERRNO", ErrnoRet: &enosys, Excludes: noSysAdmin},
	)
	// clone with a namespace flag: EPERM as in Docker (podman's default action would be ENOSYS).
	for _, flag := range cloneNamespaceFlags {
		kept = append(kept, seccompRule{Names: []string{"clone"}, Action: "SCMP_ACT_ERRNO", ErrnoRet: &eperm, Excludes: noSysAdmin,
			Args: []seccompArg{{Index: 0, Value: flag, ValueTwo: flag, Op: "SCMP_CMP_MASKED_EQ"}}})
	}
	out, err := json.Marshal(kept)
	if err != nil {
		return nil, err
	}
	profile["syscalls"] = out
	return json.MarshalIndent(profile, "", "  ")
}

func sum(flags []uint64) uint64 {
	var s uint64
	for _, f := range flags {
		s |= f
	}
	return s
}
