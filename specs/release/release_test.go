package release_test

import (
	"bufio"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/runwire/runwire/specs/support"
)

const authToken = "spec-release-token-7c2e"

// dist is make release's output directory, as make release-check passes it; the specs skip
// without it (make test does not build the release binaries).
func dist() string {
	dir := os.Getenv("RUNWIRE_RELEASE_DIR")
	if dir == "" {
		Skip("RUNWIRE_RELEASE_DIR is not set: make release-check builds dist/ and runs these specs")
	}
	return dir
}

// qemu is qemu-user-static's aarch64 emulator, run explicitly (binfmt_misc may not be
// registered for it).
func qemu() string {
	path, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		Skip("qemu-aarch64-static is not installed (.ci/install-qemu-user-static.sh installs it): " + err.Error())
	}
	return path
}

var _ = Describe("make release", Label("release"), func() {
	DescribeTable("writes a static binary for",
		func(arch string, machine elf.Machine) {
			f, err := elf.Open(filepath.Join(dist(), "runwire-linux-"+arch))
			Expect(err).NotTo(HaveOccurred())
			defer func() { _ = f.Close() }()
			Expect(f.Machine).To(Equal(machine))
			for _, p := range f.Progs {
				Expect(p.Type).NotTo(Equal(elf.PT_INTERP), "no dynamic loader: built without cgo")
				Expect(p.Type).NotTo(Equal(elf.PT_DYNAMIC), "no shared libraries")
			}
		},
		Entry("linux/amd64", "amd64", elf.EM_X86_64),
		Entry("linux/arm64", "arm64", elf.EM_AARCH64),
	)

	It("lists every binary's SHA-256 in SHA256SUMS", func() {
		dir := dist()
		sums, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = sums.Close() }()
		listed := map[string]string{}
		sc := bufio.NewScanner(sums)
		for sc.Scan() {
			sum, name, ok := strings.Cut(sc.Text(), "  ")
			Expect(ok).To(BeTrue(), "sha256sum's format: %q", sc.Text())
			listed[name] = sum
		}
		Expect(listed).To(HaveLen(2))
		for _, name := range []string{"runwire-linux-amd64", "runwire-linux-arm64"} {
			data, err := os.ReadFile(filepath.Join(dir, name)) //nolint:gosec // the spec's own dist dir
			Expect(err).NotTo(HaveOccurred())
			sum := sha256.Sum256(data)
			Expect(listed).To(HaveKeyWithValue(name, hex.EncodeToString(sum[:])))
		}
	})

	Describe("the arm64 binary under qemu-user-static", func() {
		var arm64, emulator string
		BeforeEach(func() {
			arm64, emulator = filepath.Join(dist(), "runwire-linux-arm64"), qemu()
		})
		run := func(env []string, args ...string) *gexec.Session {
			GinkgoHelper()
			cmd := exec.Command(emulator, append([]string{arm64}, args...)...) //nolint:gosec // the spec's own binary
			cmd.Env = env
			s, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(func() { s.Kill().Wait(5 * time.Second) })
			return s
		}

		It("prints its version and commit", func(ctx SpecContext) {
			s := run(nil, "version")
			Eventually(ctx, s).WithTimeout(30 * time.Second).Should(gexec.Exit(0))
			want := "runwire " + os.Getenv("RUNWIRE_RELEASE_VERSION") + " (commit " + os.Getenv("RUNWIRE_RELEASE_COMMIT") + ", go"
			Expect(string(s.Out.Contents())).To(And(HavePrefix(want), HaveSuffix("linux/arm64)\n")))
			Expect(os.Getenv("RUNWIRE_RELEASE_COMMIT")).To(MatchRegexp("^[0-9a-f]{40}$"), "make passes the commit")
		}, SpecTimeout(40*time.Second))

		It("prints its configuration, secrets redacted", func(ctx SpecContext) {
			s := run([]string{"N8N_RUNNERS_AUTH_TOKEN=" + authToken, "N8N_RUNNERS_MAX_CONCURRENCY=3"}, "config")
			Eventually(ctx, s).WithTimeout(30 * time.Second).Should(gexec.Exit(0))
			Expect(string(s.Out.Contents())).To(ContainSubstring("max_concurrency: 3"))
			Expect(string(s.Out.Contents())).NotTo(ContainSubstring(authToken))
		}, SpecTimeout(40*time.Second))

		It("registers with the loopback broker and stops on SIGTERM with exit 0", func(ctx SpecContext) {
			b := support.NewBroker(authToken, nil)
			DeferCleanup(b.Close)
			s := run([]string{
				"N8N_RUNNERS_AUTH_TOKEN=" + authToken, "N8N_RUNNERS_TASK_BROKER_URI=" + b.URL(),
				// No Python under the emulator: the runner registers and says so.
				"RUNWIRE_PYTHON=/nonexistent/python3", "PATH=/usr/bin:/bin",
			})
			Eventually(ctx, b.Registered()).WithTimeout(30*time.Second).Should(Receive(), "runner:info from the arm64 binary")
			Eventually(ctx, s.Out).WithTimeout(10 * time.Second).Should(gbytes.Say("Registered with broker"))
			Expect(s.Command.Process.Signal(syscall.SIGTERM)).To(Succeed())
			Eventually(ctx, s).WithTimeout(20 * time.Second).Should(gexec.Exit(0))
		}, SpecTimeout(60*time.Second))
	})
})
