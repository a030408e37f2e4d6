package container_test

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/runwire/runwire/e2e/container"
)

// podmanLike is the shape of podman's profile, cut down: one allow list with the guarded calls
// among others, a CAP_SYS_ADMIN pair, and a rule with arguments.
const podmanLike = `{
  "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
  "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
  "syscalls": [
    {"names": ["read", "clone", "clone3", "unshare", "setns", "mount", "umount2", "write"], "action": "SCMP_ACT_ALLOW", "args": [], "comment": "", "includes": {}, "excludes": {}},
    {"names": ["bpf", "setns"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["bpf", "setns"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_ADMIN"]}, "errnoRet": 1, "errno": "EPERM"},
    {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 16, "valueTwo": 0, "op": "SCMP_CMP_NE"}], "includes": {"minKernel": "4.8"}}
  ]
}`

type rule struct {
	Names    []string `json:"names"`
	Action   string   `json:"action"`
	ErrnoRet *int     `json:"errnoRet"`
	Args     []struct {
		Index    int    `json:"index"`
		Value    uint64 `json:"value"`
		ValueTwo uint64 `json:"valueTwo"`
		Op       string `json:"op"`
	} `json:"args"`
	Includes *struct {
		Caps      []string `json:"caps"`
		MinKernel string   `json:"minKernel"`
	} `json:"includes"`
	Excludes *struct {
		Caps []string `json:"caps"`
	} `json:"excludes"`
}

type profile struct {
	DefaultAction   string            `json:"defaultAction"`
	DefaultErrnoRet int               `json:"defaultErrnoRet"`
	ArchMap         []json.RawMessage `json:"archMap"`
	Syscalls        []rule            `json:"syscalls"`
}

func dockerLike(t *testing.T, in string) profile {
	t.Helper()
	out, err := container.DockerLikeSeccomp([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var p profile
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("the profile made is not JSON: %v", err)
	}
	return p
}

func hasCap(caps []string) bool { return slices.Contains(caps, "CAP_SYS_ADMIN") }

// rulesFor are the rules naming call, split by whether they apply without CAP_SYS_ADMIN.
func rulesFor(p profile, call string) (unprivileged, sysAdmin []rule) {
	for _, r := range p.Syscalls {
		if !slices.Contains(r.Names, call) {
			continue
		}
		if r.Includes != nil && hasCap(r.Includes.Caps) {
			sysAdmin = append(sysAdmin, r)
		} else {
			unprivileged = append(unprivileged, r)
		}
	}
	return unprivileged, sysAdmin
}

func TestDockerLikeSeccompRefusesNamespacesWithoutSysAdmin(t *testing.T) {
	p := dockerLike(t, podmanLike)
	if p.DefaultAction != "SCMP_ACT_ERRNO" || p.DefaultErrnoRet != 38 || len(p.ArchMap) != 1 {
		t.Errorf("the profile's other fields changed: %+v", p)
	}
	for _, call := range []string{"unshare", "setns", "mount", "umount2"} {
		unpriv, admin := rulesFor(p, call)
		if len(admin) == 0 || admin[0].Action != "SCMP_ACT_ALLOW" {
			t.Errorf("%s: not allowed with CAP_SYS_ADMIN: %+v", call, admin)
		}
		for _, r := range unpriv {
			if r.Action == "SCMP_ACT_ALLOW" {
				t.Errorf("%s: still allowed without CAP_SYS_ADMIN: %+v", call, r)
			}
			if r.Action != "SCMP_ACT_ERRNO" || r.ErrnoRet == nil || *r.ErrnoRet != 1 || r.Excludes == nil || !hasCap(r.Excludes.Caps) {
				t.Errorf("%s: not EPERM without CAP_SYS_ADMIN: %+v", call, r)
			}
		}
		if len(unpriv) == 0 {
			t.Errorf("%s: no rule refuses it with EPERM without CAP_SYS_ADMIN", call)
		}
	}

	unpriv, _ := rulesFor(p, "clone3")
	if len(unpriv) != 1 || unpriv[0].Action != "SCMP_ACT_ERRNO" || *unpriv[0].ErrnoRet != 38 {
		t.Errorf("clone3 without CAP_SYS_ADMIN is not ENOSYS: %+v", unpriv)
	}

	unpriv, _ = rulesFor(p, "clone")
	var allowMask uint64
	refused := map[uint64]bool{}
	for _, r := range unpriv {
		if len(r.Args) != 1 || r.Args[0].Index != 0 || r.Args[0].Op != "SCMP_CMP_MASKED_EQ" {
			t.Fatalf("clone without CAP_SYS_ADMIN has a rule not on its flags: %+v", r)
		}
		switch r.Action {
		case "SCMP_ACT_ALLOW":
			if r.Args[0].ValueTwo != 0 {
				t.Errorf("clone allowed for flags %#x", r.Args[0].ValueTwo)
			}
			allowMask = r.Args[0].Value
		case "SCMP_ACT_ERRNO":
			if *r.ErrnoRet != 1 || r.Args[0].Value != r.Args[0].ValueTwo {
				t.Errorf("clone refused otherwise than EPERM on one flag: %+v", r)
			}
			refused[r.Args[0].Value] = true
		}
	}
	// Docker's mask: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET.
	if allowMask != 2114060288 {
		t.Errorf("clone is allowed when (flags & %#x) == 0, want Docker's mask 0x7e020000", allowMask)
	}
	for bit := uint64(1); bit < 1<<32; bit <<= 1 {
		if allowMask&bit != 0 && !refused[bit] {
			t.Errorf("clone with flag %#x is not refused with EPERM", bit)
		}
	}

	for _, call := range []string{"read", "write", "bpf", "socket"} {
		if unpriv, admin := rulesFor(p, call); len(unpriv)+len(admin) == 0 {
			t.Errorf("%s lost its rules", call)
		}
	}
	if _, admin := rulesFor(p, "socket"); len(admin) != 0 {
		t.Errorf("socket gained a CAP_SYS_ADMIN rule")
	}
	for _, r := range p.Syscalls {
		if slices.Contains(r.Names, "socket") && (r.Includes == nil || r.Includes.MinKernel != "4.8") {
			t.Errorf("socket's rule lost its minKernel: %+v", r)
		}
	}
}

func TestDockerLikeSeccompRefusesWhatIsNotPodmansProfile(t *testing.T) {
	for _, in := range []string{`not json`, `{"syscalls": []}`, `{"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`} {
		if _, err := container.DockerLikeSeccomp([]byte(in)); err == nil {
			t.Errorf("%s: no error", in)
		}
	}
}

// The installed profile, where podman is installed.
func TestDockerLikeSeccompOfTheInstalledProfile(t *testing.T) {
	in, err := os.ReadFile(container.PodmanSeccompProfile)
	if err != nil {
		t.Skipf("podman's profile is not installed here (%v); build-image.sh installs podman", err)
	}
	p := dockerLike(t, string(in))
	for _, call := range []string{"unshare", "setns", "mount", "clone3"} {
		for _, r := range func() []rule { u, _ := rulesFor(p, call); return u }() {
			if r.Action == "SCMP_ACT_ALLOW" {
				t.Errorf("%s is allowed without CAP_SYS_ADMIN", call)
			}
		}
	}
}
