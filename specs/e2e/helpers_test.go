//go:build e2e

package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/runwire/runwire/e2e/n8n"
	"github.com/runwire/runwire/metrics"
)

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// runner is one runwire process connected to the suite's n8n.
type runner struct {
	session    *gexec.Session
	healthPort int
}

// startRunwire starts runwire against the suite's n8n with the auth token, plus env
// (NAME=value, later entries win), and waits until it is registered. It is stopped with
// SIGTERM after the spec, and must then exit 0 unless the spec already ended it.
func startRunwire(env ...string) *runner {
	GinkgoHelper()
	return startBinary(runwireBin, env...)
}

// startBinary is startRunwire with another build of runwire.
func startBinary(bin string, env ...string) *runner {
	GinkgoHelper()
	r := launch(bin, append([]string{"N8N_RUNNERS_AUTH_TOKEN=" + authToken}, env...)...)
	Eventually(r.ready).Should(BeTrue(), "runwire registers with n8n")
	return r
}

// launchRunwire starts runwire with the broker URI, a health port and env, without waiting.
func launchRunwire(env ...string) *runner {
	GinkgoHelper()
	return launch(runwireBin, env...)
}

func launch(bin string, env ...string) *runner {
	GinkgoHelper()
	port, err := n8n.FreePort()
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(bin)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"N8N_RUNNERS_TASK_BROKER_URI=" + server.BrokerURL(),
		"N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED=true",
		"N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=" + strconv.Itoa(port),
		"RUNWIRE_BACKOFF_MAX=1s",
	}, env...)
	session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	r := &runner{session: session, healthPort: port}
	DeferCleanup(func() {
		if r.session.ExitCode() == -1 {
			Eventually(r.session.Terminate(), 20*time.Second).Should(gexec.Exit(0), "runwire stops cleanly on SIGTERM")
		}
	})
	return r
}

// healthClient bounds each readiness probe, so a stuck answer fails the poll instead of hanging it.
var healthClient = &http.Client{Timeout: time.Second}

// ready reports whether runwire is registered with the broker and can run Python tasks (its
// /readyz).
func (r *runner) ready() bool {
	resp, err := healthClient.Get("http://127.0.0.1:" + strconv.Itoa(r.healthPort) + "/readyz")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// tasksRunning is runwire's runwire_tasks_running on /metrics (accepted tasks not yet ended);
// 0 when it does not answer.
func (r *runner) tasksRunning() int {
	n, _ := metrics.Read(healthClient, "http://127.0.0.1:"+strconv.Itoa(r.healthPort)+"/metrics", "runwire_tasks_running")
	return int(n)
}

var workflowSeq atomic.Int64

// deploy creates and activates wf and returns its id; its webhook path is wf's.
func deploy(ctx context.Context, wf n8n.Workflow) string {
	GinkgoHelper()
	created, err := client.CreateWorkflow(ctx, wf)
	Expect(err).NotTo(HaveOccurred())
	Expect(client.Activate(ctx, created.ID, created.VersionID)).To(Succeed())
	return created.ID
}

// uniquePath is a webhook path no other workflow of this run uses.
func uniquePath(name string) string {
	return fmt.Sprintf("e2e-%s-%d-%d", name, GinkgoRandomSeed(), workflowSeq.Add(1))
}

// descendants counts the processes below pid (runwire's zygote and its pre-forked children).
func descendants(pid int) int {
	parents := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command name, which is in parentheses: state, ppid, ...
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[0] != "Z" {
			parents[child], _ = strconv.Atoi(fields[1])
		}
	}
	n := 0
	for child := range parents {
		for p := parents[child]; p > 1; p = parents[p] {
			if p == pid {
				n++
				break
			}
		}
	}
	return n
}

// settled polls f until it gives the same value for half a second, and returns that value.
func settled(f func() int) int {
	GinkgoHelper()
	last, since := f(), time.Now()
	Eventually(func() bool {
		if v := f(); v != last {
			last, since = v, time.Now()
		}
		return time.Since(since) >= 500*time.Millisecond
	}).Should(BeTrue())
	return last
}
