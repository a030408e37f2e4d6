//go:build e2e

package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/runwire/runwire/e2e/container"
	"github.com/runwire/runwire/e2e/n8n"
)

// The image's user (the Dockerfile's USER).
const imageUID = 10001

var sidecarSeq atomic.Int64

// sidecar is runwire's image running under podman beside the suite's n8n.
type sidecar struct {
	name       string
	session    *gexec.Session
	healthPort int
}

// startSidecar runs image as the suite's n8n's Python runner: as the image's unprivileged user,
// with a read-only root file system and a tmpfs on /tmp only, in the host's network (n8n's broker
// is on loopback), with the extra podman options opts and the container environment env. It
// waits until runwire is ready (registered, and Python can run tasks), and stops the container
// with SIGTERM after the spec, where runwire must exit 0.
func startSidecar(ctx context.Context, image string, opts []string, env ...string) *sidecar {
	GinkgoHelper()
	s := launchSidecar(ctx, image, opts, env...)
	Eventually(s.ready, 90*time.Second).Should(BeTrue(), "runwire in the container registers with n8n")
	return s
}

// launchSidecar is startSidecar without the wait.
func launchSidecar(ctx context.Context, image string, opts []string, env ...string) *sidecar {
	GinkgoHelper()
	port, err := n8n.FreePort()
	Expect(err).NotTo(HaveOccurred())
	s := &sidecar{name: fmt.Sprintf("runwire-e2e-%d-%d", GinkgoRandomSeed(), sidecarSeq.Add(1)), healthPort: port}
	args := append([]string{"run", "--rm", "--name", s.name,
		"--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp:rw,nosuid,nodev,size=256m,mode=1777",
		"--network", "host"}, container.Ulimits...)
	args = append(args, opts...)
	// The auth token comes from podman's environment, not its command line.
	for _, e := range append([]string{
		"N8N_RUNNERS_AUTH_TOKEN",
		"N8N_RUNNERS_TASK_BROKER_URI=" + server.BrokerURL(),
		"N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=" + strconv.Itoa(port),
		"RUNWIRE_BACKOFF_MAX=1s",
	}, env...) {
		args = append(args, "--env", e)
	}
	cmd := container.Command(context.WithoutCancel(ctx), append(args, image)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "N8N_RUNNERS_AUTH_TOKEN=" + authToken}
	s.session, err = gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func(ctx SpecContext) {
		// Only if the container outlived its stop below (or the spec failed before).
		if _, err := container.Output(ctx, "container", "exists", s.name); err == nil {
			_, _ = container.Output(ctx, "rm", "--force", "--time", "0", s.name)
		}
	})
	DeferCleanup(func() {
		if s.session.ExitCode() == -1 {
			// podman forwards the signal to the container's tini, which forwards it to runwire.
			Eventually(s.session.Terminate(), 30*time.Second).Should(gexec.Exit(0), "runwire stops cleanly on SIGTERM, and so does its container")
		}
	})
	return s
}

// output is what the container wrote so far, standard output and error.
func (s *sidecar) output() []byte {
	return append(slices.Clone(s.session.Out.Contents()), s.session.Err.Contents()...)
}

func (s *sidecar) ready() bool {
	return (&runner{healthPort: s.healthPort}).ready()
}

// isolation is runwire's start-up line `Python task isolation in force: …`.
func (s *sidecar) isolation() string {
	GinkgoHelper()
	re := regexp.MustCompile(`Python task isolation in force: ([^\n]*)`)
	var line string
	Eventually(func() bool {
		m := re.FindSubmatch(s.output())
		if m != nil {
			line = string(m[1])
		}
		return m != nil
	}).Should(BeTrue(), "runwire logs what isolation is in force")
	return line
}

// runwirePID is runwire's process id on the host: the child of the container's init (tini).
func (s *sidecar) runwirePID(ctx context.Context) int {
	GinkgoHelper()
	out, err := container.Output(ctx, "inspect", "--format", "{{.State.Pid}}", s.name)
	Expect(err).NotTo(HaveOccurred())
	initPID, err := strconv.Atoi(strings.TrimSpace(out))
	Expect(err).NotTo(HaveOccurred())
	children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", initPID, initPID))
	Expect(err).NotTo(HaveOccurred())
	for _, f := range strings.Fields(string(children)) {
		comm, _ := os.ReadFile("/proc/" + f + "/comm")
		if strings.TrimSpace(string(comm)) == "runwire" {
			pid, _ := strconv.Atoi(f)
			return pid
		}
	}
	Fail(fmt.Sprintf("no runwire process below the container's init %d (children %q)", initPID, children))
	return 0
}

// claims is what the start-up line says holds.
type claims struct {
	namespaces []string // the zygote's, which its tasks share; "none" is empty
	perTask    bool     // PID, IPC and mount namespaces of each task's own
	network    bool     // tasks have the machine's network
	landlock   int      // the ABI, 0 if unavailable
	seccomp    int      // the filter's rules, 0 if none
}

func parseClaims(line string) claims {
	GinkgoHelper()
	field := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(line)
		Expect(m).NotTo(BeNil(), "the isolation line %q has %s", line, re)
		return m[1]
	}
	var c claims
	if ns := field(`namespaces: ([a-z,]+);`); ns != "none" {
		c.namespaces = strings.Split(ns, ",")
	}
	c.perTask = strings.Contains(line, "; PID, IPC and mount namespaces per task")
	c.network = field(`network: (true|false);`) == "true"
	if ll := field(`landlock: (ABI \d+|unavailable)`); ll != "unavailable" {
		c.landlock, _ = strconv.Atoi(strings.TrimPrefix(ll, "ABI "))
	}
	if sc := field(`seccomp: (\d+ rules|none)`); sc != "none" {
		c.seccomp, _ = strconv.Atoi(strings.TrimSuffix(sc, " rules"))
	}
	return c
}

// probeCode is a Python Code node (N8N_RUNNERS_STDLIB_ALLOW=*) that reports the walls around
// its own task: its namespaces, its seccomp state, whether it may open an internet socket or make
// a user namespace (podman's profile lets runwire make them, so only runwire's filter stops the
// task), and whether it may read a file outside Landlock's read list (/var is not on it).
const probeCode = `
import ctypes, errno, os, socket

def read(path):
    fd = os.open(path, os.O_RDONLY)  # open() is among n8n's denied builtins
    try:
        return os.read(fd, 1 << 16).decode()
    finally:
        os.close(fd)

out = {"ns": {n: os.readlink("/proc/self/ns/" + n) for n in ("user", "net", "pid", "ipc", "mnt")}}
status = dict(l.split(":", 1) for l in read("/proc/self/status").splitlines() if ":" in l)
out["seccomp"] = status["Seccomp"].strip()
out["filters"] = int(status["Seccomp_filters"].strip())
out["no_new_privs"] = status["NoNewPrivs"].strip()
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
    out["socket"] = "opened"
except OSError as e:
    out["socket"] = errno.errorcode[e.errno]
libc = ctypes.CDLL(None, use_errno=True)
out["unshare"] = "made" if libc.unshare(0x10000000) == 0 else errno.errorcode[ctypes.get_errno()]  # CLONE_NEWUSER
try:
    read("/var/lib/dpkg/status")
    out["outside"] = "read"
except OSError as e:
    out["outside"] = errno.errorcode[e.errno]
return [{"json": out}]`

type probe struct {
	NS         map[string]string `json:"ns"`
	Seccomp    string            `json:"seccomp"`
	Filters    int               `json:"filters"`
	NoNewPrivs string            `json:"no_new_privs"`
	Socket     string            `json:"socket"`
	Unshare    string            `json:"unshare"`
	Outside    string            `json:"outside"`
}

// procStatus is /proc/<pid>/status as a map.
func procStatus(pid int) map[string]string {
	GinkgoHelper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	Expect(err).NotTo(HaveOccurred())
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// checkClaims runs the probe in s and checks each claim of the start-up line against what the
// task reports and what the host sees of runwire's process.
func checkClaims(ctx context.Context, s *sidecar, c claims) {
	GinkgoHelper()
	status, answer, _ := run(ctx, python("container-probe", probeCode, n8n.RunOnceForAllItems, false), map[string]any{})
	Expect(status).To(Equal(http.StatusOK), string(answer))
	var got []probe
	Expect(json.Unmarshal(answer, &got)).To(Succeed(), string(answer))
	Expect(got).To(HaveLen(1))
	p := got[0]

	pid := s.runwirePID(ctx)
	host := procStatus(pid)
	// runwire runs as the image's user, unprivileged, with the container's seccomp profile.
	Expect(strings.Fields(host["Uid"])).To(Equal(slices.Repeat([]string{strconv.Itoa(imageUID)}, 4)), "runwire's uids")
	Expect(host["CapEff"]).To(Equal("0000000000000000"), "runwire has no capability")
	Expect(host["Seccomp"]).To(Equal("2"), "the container's seccomp profile is on runwire")

	for _, ns := range []string{"user", "net", "pid", "ipc", "mnt"} {
		own, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		Expect(err).NotTo(HaveOccurred())
		if slices.Contains(c.namespaces, ns) || c.perTask && slices.Contains([]string{"pid", "ipc", "mnt"}, ns) {
			Expect(p.NS[ns]).NotTo(Equal(own), "the start-up line claims a %s namespace per task (%v)", ns, c.namespaces)
		} else {
			Expect(p.NS[ns]).To(Equal(own), "the start-up line claims no %s namespace (%v), and the task shares runwire's", ns, c.namespaces)
		}
	}
	// Without a network namespace runwire's filter still refuses every socket() but AF_UNIX's.
	Expect(c.network).To(Equal(!slices.Contains(c.namespaces, "net") && c.seccomp == 0), "network: %v with namespaces %v, seccomp %d", c.network, c.namespaces, c.seccomp)

	hostFilters, err := strconv.Atoi(host["Seccomp_filters"])
	Expect(err).NotTo(HaveOccurred())
	if c.seccomp > 0 {
		Expect(p.Seccomp).To(Equal("2"), "the task runs under a seccomp filter")
		Expect(p.Filters).To(Equal(hostFilters+1), "the task has runwire's filter on top of the container's")
		Expect(p.NoNewPrivs).To(Equal("1"))
		Expect(p.Socket).To(Equal("EPERM"), "runwire's filter refuses an internet socket (RUNWIRE_PYTHON_NETWORK is deny)")
		Expect(p.Unshare).To(Equal("EPERM"), "runwire's filter refuses a new user namespace")
	} else {
		Expect(p.Filters).To(Equal(hostFilters), "no filter of runwire's is on the task, as the start-up line says")
	}
	switch {
	case c.landlock > 0 && c.perTask:
		// A task's own mount namespace may not show /var at all.
		Expect(p.Outside).To(BeElementOf("EACCES", "ENOENT"), "Landlock (or the task's own view of the file system) keeps the task out of /var")
	case c.landlock > 0:
		Expect(p.Outside).To(Equal("EACCES"), "Landlock keeps the task out of /var")
	default:
		Expect(p.Outside).To(Equal("read"), "the start-up line says there is no Landlock, and the task reads /var")
	}
}

// checkImage checks what the image promises whatever the seccomp profile: a Python Code node's
// items come back, the HEALTHCHECK passes, and the root file system is read-only.
func checkImage(ctx context.Context, s *sidecar) {
	GinkgoHelper()
	status, answer, exec := run(ctx, python("container-items", `
n = _items[0]["json"]["body"]["n"]
return [{"json": {"i": i, "n": n * i, "text": "héllo ✓"}} for i in range(3)]`,
		n8n.RunOnceForAllItems, false), map[string]any{"n": 7})
	Expect(status).To(Equal(http.StatusOK), string(answer))
	Expect(answer).To(MatchJSON(`[
		{"i": 0, "n": 0, "text": "héllo ✓"},
		{"i": 1, "n": 7, "text": "héllo ✓"},
		{"i": 2, "n": 14, "text": "héllo ✓"}]`))
	Expect(exec.Status).To(Equal("success"))

	_, err := container.Output(ctx, "healthcheck", "run", s.name)
	Expect(err).NotTo(HaveOccurred(), "the image's HEALTHCHECK (GET /healthz) passes")

	out, err := container.Output(ctx, "exec", "--user", "0", s.name, "touch", "/probe")
	Expect(err).To(MatchError(ContainSubstring("Read-only file system")), "even root cannot write the root file system: %s", out)
}

// runWallsSuite runs the walls specs of specs/python (label walls: every attack a wall stops),
// compiled into suite, inside image with the same options as a sidecar (unprivileged, read-only,
// a tmpfs on /tmp) and opts, and expects them to pass.
func runWallsSuite(ctx context.Context, image, suite string, opts []string) {
	GinkgoHelper()
	args := append([]string{"run", "--rm", "--read-only", "--read-only-tmpfs=false",
		"--tmpfs", "/tmp:rw,nosuid,nodev,size=256m,mode=1777", "--network", "none",
		"--volume", suite + ":/usr/local/bin/walls.test:ro", "--entrypoint", "/usr/bin/tini"}, container.Ulimits...)
	args = append(args, opts...)
	// Under tini, as runwire runs in the image: PID 1 reaps what the tasks leave to it.
	args = append(args, image, "--", "/usr/local/bin/walls.test", "-ginkgo.label-filter=walls", "-ginkgo.no-color", "-test.timeout=4m")
	cmd := container.Command(ctx, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	Eventually(session, 5*time.Minute).Should(gexec.Exit(0), "the walls specs pass inside the container")
	if m := regexp.MustCompile(`Ran \d+ of \d+ Specs[^\n]*\n[^\n]*`).Find(session.Out.Contents()); m != nil {
		AddReportEntry("walls specs inside the container", string(m))
	}
}

var _ = Describe("runwire's container image as n8n's Python runner", Label("e2e", "container"), Ordered, func() {
	var image, dockerLike, wallsSuite string

	BeforeAll(func(ctx SpecContext) {
		if reason := container.Unavailable(); reason != "" {
			Skip(reason)
		}
		start := time.Now()
		var err error
		image, err = container.Build(ctx, "../../e2e/scripts/build-image.sh", GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("image build", fmt.Sprintf("%s in %s", image, time.Since(start).Round(time.Second)))

		installed, err := os.ReadFile(container.PodmanSeccompProfile)
		Expect(err).NotTo(HaveOccurred())
		profile, err := container.DockerLikeSeccomp(installed)
		Expect(err).NotTo(HaveOccurred())
		dir, err := os.MkdirTemp("", "runwire-e2e-seccomp-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(os.RemoveAll, dir)
		dockerLike = filepath.Join(dir, "docker-like.json")
		Expect(os.WriteFile(dockerLike, profile, 0o644)).To(Succeed())

		// The walls specs, static, to run inside the image.
		wallsSuite = filepath.Join(dir, "walls.test")
		build := exec.CommandContext(ctx, "go", "test", "-c", "-o", wallsSuite, "../python/")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
	}, NodeTimeout(20*time.Minute))

	It("runs tasks under podman's default seccomp profile, with the walls its start-up line claims", func(ctx SpecContext) {
		s := startSidecar(ctx, image, nil, "N8N_RUNNERS_STDLIB_ALLOW=*")
		checkImage(ctx, s)
		c := parseClaims(s.isolation())
		// podman's profile lets an unprivileged process make namespaces.
		Expect(c.namespaces).To(ContainElements("user", "net", "pid", "ipc"))
		Expect(c.landlock).To(BeNumerically(">", 0))
		Expect(c.seccomp).To(BeNumerically(">", 0))
		checkClaims(ctx, s, c)
		runWallsSuite(ctx, image, wallsSuite, nil)
	}, SpecTimeout(10*time.Minute))

	It("runs tasks under a Docker-like seccomp profile without namespaces, and says so", func(ctx SpecContext) {
		// Under RUNWIRE_PYTHON_WALLS=require, missing namespaces would stop every task.
		s := startSidecar(ctx, image, []string{"--security-opt", "seccomp=" + dockerLike},
			"N8N_RUNNERS_STDLIB_ALLOW=*", "RUNWIRE_PYTHON_WALLS=best-effort")
		checkImage(ctx, s)
		c := parseClaims(s.isolation())
		Expect(c.namespaces).To(BeEmpty(), "no namespace can be made under Docker's default profile")
		Expect(c.network).To(BeFalse(), "no network namespace, but runwire's filter refuses the tasks' sockets")
		Expect(string(s.output())).To(ContainSubstring("Python tasks run without namespaces"), "the missing wall is logged")
		Expect(string(s.output())).To(MatchRegexp(`PYTHON TASKS RUN WITH WEAKER WALLS \(RUNWIRE_PYTHON_WALLS=best-effort\): missing [^\n]*namespaces`),
			"best-effort says loudly what it runs without")
		// Landlock and seccomp need no privilege, and hold there too.
		Expect(c.landlock).To(BeNumerically(">", 0))
		Expect(c.seccomp).To(BeNumerically(">", 0))
		checkClaims(ctx, s, c)
		// With the same policy as the sidecar above: the walls that hold, tried.
		runWallsSuite(ctx, image, wallsSuite, []string{"--security-opt", "seccomp=" + dockerLike, "--env", "RUNWIRE_SPECS_WALLS=best-effort"})
	}, SpecTimeout(10*time.Minute))

	It("refuses Python tasks under the Docker-like profile with RUNWIRE_PYTHON_WALLS=require, naming the missing wall", func(ctx SpecContext) {
		s := launchSidecar(ctx, image, []string{"--security-opt", "seccomp=" + dockerLike}, "RUNWIRE_PYTHON_WALLS=require")
		Eventually(ctx, func() string { return string(s.output()) }).Should(ContainSubstring("Registered with broker"))
		r := &runner{healthPort: s.healthPort}
		// 503 while Python starts, then for the missing wall.
		Eventually(ctx, func() string { _, body := readyz(r); return body }).Should(ContainSubstring("walls missing: namespaces"), "/readyz names the missing wall")
		status, body := readyz(r)
		Expect(status).To(Equal(http.StatusServiceUnavailable), body)

		_, _, exec := run(ctx, python("container-require", `return [{"json": {"ran": True}}]`, n8n.RunOnceForAllItems, false), map[string]any{})
		Expect(codeError(exec).Message).To(And(ContainSubstring("walls missing: namespaces"), ContainSubstring("RUNWIRE_PYTHON_WALLS=best-effort")),
			"the Code node fails with the reason and the setting")
	}, SpecTimeout(3*time.Minute))
})
