package python

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// TaskUID is the first of the host uids (and gids) runwire reserves for tasks when it runs as
// root, TaskIDCount of them, in /etc/subuid's terms `runwire:1879048192:65536`. No file on the
// host should be owned by one of them: a task runs as the first (uid 1 in the zygote's user
// namespace, whose map is 0 → 0 for the zygote alone and 1..65536 → this range), with no
// capability, so as far as the host is concerned it owns nothing and may do only what "other"
// may. Not root, runwire's own uid is the only one it can give a task.
const (
	TaskUID     = 0x70000000
	TaskIDCount = 65536
)

// userNamespaceMaps is the zygote's uid and gid map: as root, itself as root and the task range
// above; not root, runwire's own ids onto themselves (the only map an unprivileged process may
// write).
func userNamespaceMaps() (uids, gids []syscall.SysProcIDMap) {
	if os.Getuid() == 0 {
		m := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: 1, HostID: TaskUID, Size: TaskIDCount}}
		return m, m
	}
	uid, gid := os.Getuid(), os.Getgid()
	return []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
		[]syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
}

// taskIdentity is what a child changes to (in its own user namespace's numbers; nil: nothing,
// runwire is not root) and what runwire then expects to see as its host ids.
type taskIdentity struct {
	Inside   *identityIDs // the config line's "identity"
	HostUID  int
	HostGID  int
	Bounding bool // the bounding set is emptied (it takes CAP_SETPCAP, which only root's zygote has)
}

type identityIDs struct {
	UID int `json:"uid"`
	GID int `json:"gid"`
}

func identityFor(user bool) taskIdentity {
	if os.Getuid() != 0 {
		return taskIdentity{HostUID: os.Getuid(), HostGID: os.Getgid()}
	}
	t := taskIdentity{HostUID: TaskUID, HostGID: TaskUID, Bounding: true, Inside: &identityIDs{UID: TaskUID, GID: TaskUID}}
	if user {
		t.Inside = &identityIDs{UID: 1, GID: 1}
	}
	return t
}

func (t taskIdentity) String() string {
	if t.Inside == nil {
		return fmt.Sprintf("runwire's own uid %d (not root: it has no other to give; a task may still chmod and utime runwire's own files), no capabilities, no_new_privs, not dumpable", t.HostUID)
	}
	inside := ""
	if t.Inside.UID != t.HostUID {
		inside = fmt.Sprintf(" (uid %d in the zygote's user namespace)", t.Inside.UID)
	}
	return fmt.Sprintf("host uid %d%s, owning no host file (python.TaskUID), no groups, no capabilities, empty bounding set, no_new_privs, not dumpable", t.HostUID, inside)
}

// procStatus is what runwire reads of a child's /proc/<pid>/status to check its identity.
type procStatus struct {
	uid, gid            []int
	groups              int
	eff, prm, amb, bnd  uint64
	noNewPrivs, seccomp int
}

func readProcStatus(pid int) (procStatus, error) {
	var st procStatus
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return st, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		key, value, _ := strings.Cut(line, ":")
		fields := strings.Fields(value)
		switch key {
		case "Uid", "Gid":
			var ids []int
			for _, f := range fields {
				n, err := strconv.Atoi(f)
				if err != nil {
					return st, fmt.Errorf("status %s: %w", key, err)
				}
				ids = append(ids, n)
			}
			if key == "Uid" {
				st.uid = ids
			} else {
				st.gid = ids
			}
		case "Groups":
			st.groups = len(fields)
		case "CapEff", "CapPrm", "CapAmb", "CapBnd":
			if len(fields) != 1 {
				return st, fmt.Errorf("status %s unreadable", key)
			}
			n, err := strconv.ParseUint(fields[0], 16, 64)
			if err != nil {
				return st, fmt.Errorf("status %s: %w", key, err)
			}
			switch key {
			case "CapEff":
				st.eff = n
			case "CapPrm":
				st.prm = n
			case "CapAmb":
				st.amb = n
			default:
				st.bnd = n
			}
		case "NoNewPrivs", "Seccomp":
			if len(fields) == 1 {
				n, _ := strconv.Atoi(fields[0])
				if key == "NoNewPrivs" {
					st.noNewPrivs = n
				} else {
					st.seccomp = n
				}
			}
		}
	}
	return st, nil
}

// check says how a child's status falls short of the identity runwire expects ("" if not).
func (t taskIdentity) check(st procStatus, seccomp bool) string {
	var short []string
	same := func(ids []int, want int) bool {
		if len(ids) != 4 {
			return false
		}
		for _, id := range ids {
			if id != want {
				return false
			}
		}
		return true
	}
	if !same(st.uid, t.HostUID) {
		short = append(short, fmt.Sprintf("uids %v, not %d", st.uid, t.HostUID))
	}
	if !same(st.gid, t.HostGID) {
		short = append(short, fmt.Sprintf("gids %v, not %d", st.gid, t.HostGID))
	}
	if t.Inside != nil && st.groups != 0 {
		short = append(short, fmt.Sprintf("%d supplementary groups", st.groups))
	}
	if st.eff|st.prm|st.amb != 0 {
		short = append(short, fmt.Sprintf("capabilities held (effective %#x, permitted %#x, ambient %#x)", st.eff, st.prm, st.amb))
	}
	if t.Bounding && st.bnd != 0 {
		short = append(short, fmt.Sprintf("bounding set %#x", st.bnd))
	}
	if st.noNewPrivs != 1 {
		short = append(short, "no_new_privs not set")
	}
	if seccomp && st.seccomp != 2 {
		short = append(short, "no seccomp filter")
	}
	return strings.Join(short, "; ")
}
