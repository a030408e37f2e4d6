package python_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
)

// #10.8: a runwire that was killed leaves its runtime directory (the Python runtime, the tasks'
// temp dirs) and its cgroups behind; the next runwire to start removes them, and keeps those
// of a runwire that still runs.
var _ = Describe("Leftovers of a runwire that has gone", Label("integration", "walls"), func() {
	// runtimeDir makes a directory as a runwire's runtime directory looks, with a file in it,
	// old enough (two minutes) to be past the grace a starting runwire gets.
	runtimeDir := func() string {
		dir, err := os.MkdirTemp("", "runwire-python-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(os.RemoveAll, dir)
		Expect(os.MkdirAll(filepath.Join(dir, "tmp", "3"), 0o700)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(dir, "tmp", "3", "left"), []byte("x"), 0o600)).To(Succeed())
		old := time.Now().Add(-2 * time.Minute)
		Expect(os.Chtimes(dir, old, old)).To(Succeed())
		return dir
	}
	// deadPID is the pid of a process that has ended and been reaped.
	deadPID := func() int {
		cmd := exec.Command("/bin/true")
		Expect(cmd.Run()).To(Succeed())
		return cmd.Process.Pid
	}

	It("are removed at start: a runtime directory no live runwire holds; one that is held stays", func(ctx SpecContext) {
		gone := runtimeDir()
		held := runtimeDir()
		f, err := os.Open(held)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(f.Close)
		Expect(syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)).To(Succeed(), "the lock a live runwire holds")

		log := gbytes.NewBuffer()
		newRig(ctx, withLog(log))
		Eventually(log).WithContext(ctx).Should(gbytes.Say("Checked for what runwires that have gone left behind"), "the background pass has run")
		Expect(gone).NotTo(BeADirectory())
		Expect(filepath.Join(held, "tmp", "3", "left")).To(BeARegularFile())
	}, SpecTimeout(specTimeout))

	DescribeTable("are removed at start: a cgroup of a runwire whose pid has gone; one whose pid lives stays", func(ctx SpecContext, name string) {
		root := "/sys/fs/cgroup/pids"
		dead := filepath.Join(root, fmt.Sprintf(name, deadPID()))
		if err := os.Mkdir(dead, 0o750); err != nil {
			Skip("the pids cgroup hierarchy is not writable here (" + err.Error() + "): runwire makes no cgroups then, and leaves none")
		}
		DeferCleanup(func() { _ = os.Remove(filepath.Join(dead, "task-1")); _ = os.Remove(dead) })
		Expect(os.Mkdir(filepath.Join(dead, "task-1"), 0o750)).To(Succeed())
		// A live pid of a runwire-like process: the spec's parent (go test) runs until the end.
		live := filepath.Join(root, fmt.Sprintf(name, os.Getppid()))
		Expect(os.Mkdir(live, 0o750)).To(Succeed())
		DeferCleanup(os.Remove, live)

		log := gbytes.NewBuffer()
		newRig(ctx, withLog(log))
		Eventually(log).WithContext(ctx).Should(gbytes.Say("Checked for what runwires that have gone left behind"), "the background pass has run")
		Expect(dead).NotTo(BeADirectory())
		Expect(live).To(BeADirectory())
	},
		Entry("runwire-<pid>-<n>, one per zygote", "runwire-%d-1", SpecTimeout(specTimeout)),
		Entry("runwire-<pid>, from runwires before that", "runwire-%d", SpecTimeout(specTimeout)),
	)
})
