package python_test

import (
	"fmt"
	"path/filepath"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// runwireCgroups lists the pids cgroups this process made (cgroup v1's pids hierarchy and
// v2), each zygote's parent of the task cgroups.
func runwireCgroups() []string {
	var out []string
	for _, root := range []string{"/sys/fs/cgroup/pids", "/sys/fs/cgroup"} {
		found, _ := filepath.Glob(filepath.Join(root, fmt.Sprintf("runwire-%d-*", syscall.Getpid())))
		out = append(out, found...)
	}
	return out
}

var _ = Describe("The tasks' pids cgroups", Label("integration"), func() {
	It("are all removed when the zygote dies while a task runs, the task's own included", func(ctx SpecContext) {
		r := newRig(ctx, stdlib("*"))
		p := r.connection()
		p.runsLate("T0")
		if !r.py.Walls().Cgroups {
			Skip("no writable pids cgroup here (not root, or no delegated subtree): tasks have no cgroups to leave behind")
		}
		Expect(runwireCgroups()).To(HaveLen(1), "one zygote, one parent cgroup")
		old := theZygote(ctx)
		g := newGate()
		// The task leaves a process of its own in its cgroup (setsid: not in its process group).
		p.startLate("T1", allItems("import os, subprocess, time\n"+
			"subprocess.Popen(['sleep', '30'], start_new_session=True)\n"+
			"print('started')\n"+g.wait+"\nreturn []", g.item))
		p.Await("T1's print: it runs", isPrint("T1"))
		Expect(syscall.Kill(old, syscall.SIGKILL)).To(Succeed())
		message, _, _ := errorOf(p.terminal("T1"))
		Expect(message).To(ContainSubstring("while the task ran"))
		expectGone(ctx, old)

		p.runsLate("T2")
		Eventually(ctx, runwireCgroups).Should(HaveLen(1), "the dead zygote's parent cgroup is gone once its task's is")
		r.py.Close()
		Expect(runwireCgroups()).To(BeEmpty(), "nothing left once the executor has closed")
	}, SpecTimeout(slowTimeout))
})
