package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/runwire/runwire/specs/support"
)

// A forced exit is the process's exit, so these specs run the real binary: in-process, the
// goroutines and processes it leaves behind on purpose would outlive the spec.
var _ = Describe("A forced exit (the runwire binary)", Ordered, Label("integration"), func() {
	var bin string
	BeforeAll(func() {
		var err error
		bin, err = gexec.Build("github.com/runwire/runwire/cmd/runwire")
		Expect(err).NotTo(HaveOccurred(), "building runwire")
		DeferCleanup(gexec.CleanupBuildArtifacts)
	})

	It("exits 1 at once on a second signal while a task ignores SIGTERM, and leaves no Python process or file", func(ctx SpecContext) {
		if _, err := exec.LookPath("python3"); err != nil {
			Skip("needs python3 on PATH: " + err.Error())
		}
		b := newBroker()
		cmd := exec.Command(bin)
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
			"N8N_RUNNERS_TASK_BROKER_URI=" + b.URL(), "N8N_RUNNERS_AUTH_TOKEN=" + authToken,
			"N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT=60", "N8N_RUNNERS_STDLIB_ALLOW=signal,time",
		}
		s, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { s.Kill().Wait() })

		var c *support.BrokerConn
		Eventually(ctx, b.Registered()).WithTimeout(15 * time.Second).Should(Receive(&c))
		in := support.NewInbox(ctx, c)
		offer := in.Await("an offer", support.IsType("runner:taskoffer"))
		in.Send(map[string]any{"type": "broker:taskofferaccept", "taskId": "stubborn", "offerId": offer["offerId"]})
		in.Await("the accept", support.IsType("runner:taskaccepted"))
		in.Send(map[string]any{"type": "broker:tasksettings", "taskId": "stubborn", "settings": map[string]any{
			"code": "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ignoring SIGTERM')\n" +
				"while True:\n    time.sleep(0.01)\n",
			"nodeMode": "runOnceForAllItems", "workflowMode": "manual", "continueOnFail": false,
			"items": []any{}, "nodeId": "n1", "nodeName": "Code", "workflowId": "w1", "workflowName": "forced exit",
		}})
		in.Await("the task's print: it runs and ignores SIGTERM", support.IsType("runner:rpc"))
		tree := descendants(s.Command.Process.Pid)
		Expect(tree).NotTo(BeEmpty(), "the zygote and the task's process")
		runtimeDir := ""
		for _, pid := range tree {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			for _, arg := range strings.Split(string(cmdline), "\x00") {
				if strings.HasSuffix(arg, "/zygote.py") {
					runtimeDir = filepath.Dir(arg)
				}
			}
		}
		Expect(runtimeDir).To(BeADirectory(), "the zygote runs from runwire's runtime directory")

		Expect(s.Command.Process.Signal(syscall.SIGTERM)).To(Succeed())
		Eventually(s.Out).Should(gbytes.Say("Received signal, shutting down"))
		Consistently(s.Exited).WithTimeout(200*time.Millisecond).ShouldNot(BeClosed(), "the graceful shutdown waits for the task")
		Expect(s.Command.Process.Signal(syscall.SIGINT)).To(Succeed())
		// Well within the 60 s grace, so only the forced exit can end it in time.
		Eventually(s).WithTimeout(5 * time.Second).Should(gexec.Exit(1))
		Expect(string(s.Out.Contents())).To(ContainSubstring("Received a second signal, exiting now"))
		Expect(runtimeDir).NotTo(BeAnExistingFile(), "the runtime directory, with the task's temp files, is removed")
		for _, pid := range tree {
			Eventually(ctx, func() bool { return gone(pid) }).WithTimeout(10*time.Second).
				Should(BeTrue(), "process %d (of runwire's tree) is gone", pid)
		}
	}, SpecTimeout(60*time.Second))
})

// descendants lists every process under pid, from /proc.
func descendants(pid int) []int {
	parent := map[int]int{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if pp := ppid(p); pp > 0 {
			parent[p] = pp
		}
	}
	var out []int
	for p := range parent {
		for q := parent[p]; q > 0; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// ppid reads a process's parent from /proc/<pid>/stat (0 if it is gone).
func ppid(pid int) int {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(fields[1])
	return n
}

// gone is true once pid has exited: no longer in /proc, or a zombie waiting for its reaper.
func gone(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}
