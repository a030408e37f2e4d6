package python

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// checkChild says how a child that has said hello falls short of the walls the zygote
// announced ("" if it does not): its seccomp rule count and Landlock rule set as it reports
// them, and its identity and namespaces as runwire itself reads them in /proc.
func (z *zygote) checkChild(hostPID int, w helloWalls) string {
	var short []string
	if w.Seccomp != z.seccomp {
		short = append(short, fmt.Sprintf("seccomp: %d rules installed, %d expected", w.Seccomp, z.seccomp))
	}
	// The zygote plans its rule set whatever the kernel has; a kernel without Landlock (ABI
	// 0) is a missing wall (missingWalls), not a child weaker than announced.
	if z.landlock > 0 && z.landlockRules > 0 && (w.Landlock != z.landlock || w.LandlockRules != z.landlockRules) {
		why := ""
		if w.LandlockError != "" {
			why = " (" + w.LandlockError + ")"
		}
		short = append(short, fmt.Sprintf("Landlock: ABI %d with %d rules applied, ABI %d with %d expected%s", w.Landlock, w.LandlockRules, z.landlock, z.landlockRules, why))
	}
	if z.ownProc && w.Proc == "" { // the zygote's probe mounted one: a kernel that allows it
		s := "/proc: the zygote's, not a procfs of the task's own PID namespace"
		if w.ProcError != "" {
			s += " (" + w.ProcError + ")"
		}
		short = append(short, s)
	}
	st, err := readProcStatus(hostPID)
	if err != nil {
		short = append(short, "its /proc status is unreadable: "+err.Error())
	} else if s := z.identity.check(st, z.seccomp > 0); s != "" {
		if w.IdentityError != "" {
			s += " (" + w.IdentityError + ")"
		}
		short = append(short, "identity: "+s)
	}
	for _, name := range z.spaces {
		mine, err1 := os.Readlink("/proc/self/ns/" + name)
		its, err2 := os.Readlink("/proc/" + strconv.Itoa(hostPID) + "/ns/" + name)
		if err1 != nil || err2 != nil || mine == its {
			short = append(short, "not in a "+name+" namespace of its own")
		}
	}
	return strings.Join(short, "; ")
}

// refuse kills a child weaker than announced and stops every task from running from now on,
// with an error that says which wall failed and what to do.
func (z *zygote) refuse(hostPID int, short string) {
	_ = syscall.Kill(hostPID, syscall.SIGKILL)
	z.log.Error("A Python child is weaker than the walls the zygote announced; it is killed and no Python task runs", "pid", hostPID, "missing", short)
	z.refuseOnce.Do(func() {
		z.refusal = fmt.Errorf("Python tasks are refused: a task process did not apply its walls (%s); runwire does not run a task with less than it announced, whatever RUNWIRE_PYTHON_WALLS says: check the kernel and the log", short) //nolint:staticcheck // n8n shows this to the user: a sentence
		close(z.refused)
	})
}

// landlockHolds says what Landlock holds at this ABI, and names what it does not.
func landlockHolds(abi int, network bool) string {
	if abi < 1 {
		return "unavailable (writes, reads and TCP are not walled off by Landlock)"
	}
	parts := []string{fmt.Sprintf("ABI %d: writes only to a private temp dir and /dev/null, /dev/full; reads only there, in the system's libraries and programs, a short list of files in /etc, /dev/{zero,random,urandom}, the task's own /proc entry, /sys's CPU list and Python's own directories", abi)}
	if abi < 3 {
		parts = append(parts, "truncating files outside the temp dir is not walled (needs ABI 3)")
	}
	switch {
	case network:
		parts = append(parts, "TCP allowed (RUNWIRE_PYTHON_NETWORK=allow)")
	case abi >= 4:
		parts = append(parts, "no TCP bind or connect")
	default:
		parts = append(parts, "TCP not walled by Landlock (needs ABI 4; the network namespace and seccomp still hold)")
	}
	if abi >= 6 {
		parts = append(parts, "no signals or abstract unix sockets outside the task's own domain")
	} else {
		parts = append(parts, "signals and abstract unix sockets not scoped (need ABI 6)")
	}
	return strings.Join(parts, "; ")
}

// missingWalls names the walls runwire expects that the zygote does not have: namespaces,
// seccomp (no program for this architecture; a filter the kernel refuses stops the boot in any
// mode) and Landlock. Cgroups, which need a writable cgroup file system runwire is seldom
// given, are not on it.
func (e *Executor) missingWalls(z *zygote) []string {
	var missing []string
	if len(z.spaces) == 0 {
		missing = append(missing, "namespaces (the kernel refused user, PID, IPC and network namespaces)")
	}
	if e.seccompMissing != "" {
		missing = append(missing, "seccomp ("+e.seccompMissing+")")
	}
	if z.landlock < 1 {
		missing = append(missing, "Landlock (the kernel has no Landlock, or it is disabled: needs Linux 5.13+ with landlock in lsm=)")
	}
	return missing
}

// checkWalls applies RUNWIRE_PYTHON_WALLS once the zygote is ready: require (the default)
// refuses to run Python tasks when an expected wall is missing; best-effort logs it loudly.
func (e *Executor) checkWalls(z *zygote) error {
	missing := e.missingWalls(z)
	if len(missing) == 0 {
		return nil
	}
	if !e.opts.BestEffortWalls {
		return fmt.Errorf("walls missing: %s; RUNWIRE_PYTHON_WALLS=require (the default) refuses to run Python tasks without them, set RUNWIRE_PYTHON_WALLS=best-effort to run with what the kernel gives", strings.Join(missing, "; "))
	}
	e.log.Warn("PYTHON TASKS RUN WITH WEAKER WALLS (RUNWIRE_PYTHON_WALLS=best-effort): missing " + strings.Join(missing, "; "))
	return nil
}

// LandlockABI is this kernel's Landlock ABI version, 0 if it has none (or it is disabled).
func LandlockABI() int {
	const sysLandlockCreateRuleset, versionFlag = 444, 1
	abi, _, errno := syscall.Syscall(sysLandlockCreateRuleset, 0, 0, versionFlag)
	if errno != 0 {
		return 0
	}
	return int(abi)
}
