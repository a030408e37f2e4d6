//go:build e2e

// The end-to-end suite: runwire, built from this tree, against a real n8n installed by
// e2e/scripts/install-n8n.sh. `make e2e` runs it; it is behind the e2e build tag because it
// needs that install (about 7 minutes and 3 GB the first time on a machine).
package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/runwire/runwire/e2e/n8n"
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "End to end: runwire in a real n8n")
}

const (
	ownerEmail    = "e2e@runwire.test"
	ownerPassword = "E2e-runwire-Passw0rd"
)

var (
	installDir string // n8n's install folder
	runwireBin string // runwire built with -race, for the specs
	benchBin   string // runwire built as `make build` does, for the round-trip measurement
	authToken  string // n8n's N8N_RUNNERS_AUTH_TOKEN
	server     *n8n.Server
	client     *n8n.Client
)

var _ = BeforeSuite(func(ctx SpecContext) {
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)

	var err error
	installDir, err = n8n.Install(ctx, "../../e2e/scripts/install-n8n.sh", GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	runwireBin, err = gexec.Build("github.com/runwire/runwire/cmd/runwire", "-race")
	Expect(err).NotTo(HaveOccurred())
	benchBin, err = gexec.Build("github.com/runwire/runwire/cmd/runwire", "-trimpath")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(gexec.CleanupBuildArtifacts)

	authToken = randomToken()
	folder, err := os.MkdirTemp("", "runwire-e2e-n8n-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, folder)
	startN8n(ctx, n8n.Options{InstallDir: installDir, UserFolder: filepath.Join(folder, "n8n"), AuthToken: authToken})

	client = n8n.NewClient(server.URL())
	Expect(client.SetupOwner(ctx, ownerEmail, ownerPassword, "End", "ToEnd")).To(Succeed())
	Expect(client.Login(ctx, ownerEmail, ownerPassword)).To(Succeed())
}, NodeTimeout(15*time.Minute))

var _ = AfterSuite(func() {
	if server != nil {
		if err := server.Stop(20 * time.Second); err != nil {
			GinkgoWriter.Println(err.Error())
		}
	}
})

// startN8n starts n8n with opts and makes it the suite's server, which the suite stops at its
// end. A spec that restarts n8n stops the old server itself first.
func startN8n(ctx context.Context, opts n8n.Options) {
	s, err := n8n.Start(ctx, opts)
	Expect(err).NotTo(HaveOccurred())
	server = s
}
