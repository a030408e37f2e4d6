//go:build e2e

package e2e_test

import (
	"fmt"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/runwire/runwire/e2e/n8n"
	"github.com/runwire/runwire/transport"
)

// These specs stop, kill and restart n8n itself; they run one after the other.
var _ = Describe("runwire across n8n's own lifecycle", Label("e2e"), Ordered, func() {
	const code = `return [{"json": {"alive": True}}]`
	var path string

	BeforeAll(func(ctx SpecContext) {
		path = uniquePath("lifecycle")
		deploy(ctx, n8n.PythonWebhookWorkflow("lifecycle", path, code, "runOnceForAllItems", false))
	})

	// works runs the workflow through whatever runwire is connected.
	works := func(ctx SpecContext) {
		GinkgoHelper()
		status, body, err := client.Webhook(ctx, path, map[string]any{})
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusOK), string(body))
		Expect(body).To(MatchJSON(`[{"alive": true}]`))
	}

	It("survives an n8n restart with the auth token (a fresh grant, the next workflow runs), while a grant-token-only runwire stops cleanly on n8n's drain; a task in flight finishes", func(ctx SpecContext) {
		const allowTime = "N8N_RUNNERS_STDLIB_ALLOW=time"
		withAuth := startRunwire(allowTime)
		works(ctx)
		slow := uniquePath("drain")
		deploy(ctx, n8n.PythonWebhookWorkflow("drain", slow, "import time\ntime.sleep(2)\nreturn [{\"json\": {\"slept\": True}}]", n8n.RunOnceForAllItems, false))

		grant, err := transport.FetchGrantToken(ctx, http.DefaultClient, server.BrokerURL(), authToken)
		Expect(err).NotTo(HaveOccurred())
		grantOnly := launchRunwire("N8N_RUNNERS_GRANT_TOKEN="+grant, allowTime)
		Eventually(grantOnly.ready).Should(BeTrue())

		// A task is running in one of the two when n8n is told to stop: the drain lets it finish.
		running := func() int { return withAuth.tasksRunning() + grantOnly.tasksRunning() }
		Expect(running()).To(BeZero())
		answered := make(chan string, 1)
		go func() {
			defer GinkgoRecover()
			status, body, err := client.Webhook(ctx, slow, map[string]any{})
			Expect(err).NotTo(HaveOccurred())
			answered <- fmt.Sprintf("%d %s", status, body)
		}()
		Eventually(running).Should(Equal(1))

		opts := server.Options()
		Expect(server.Stop(30*time.Second)).To(Succeed(), "n8n drains its runners and stops")
		Eventually(answered).Should(Receive(Equal(`200 [{"slept":true}]`)), "the task in flight finished through the drain")
		Eventually(grantOnly.session, 20*time.Second).Should(gexec.Exit(0), "no renewable credentials: runwire stops after the drain")
		Expect(string(grantOnly.session.Out.Contents())).To(ContainSubstring("grant token cannot be renewed"))
		Eventually(withAuth.ready).Should(BeFalse())
		Expect(withAuth.session.ExitCode()).To(Equal(-1), "with the auth token runwire keeps going")

		startN8n(ctx, opts)
		Eventually(withAuth.ready, 60*time.Second).Should(BeTrue(), "re-registers with a fresh grant")
		works(ctx)
	}, SpecTimeout(3*time.Minute))

	It("a grant-token-only runwire ends in AuthFailed (exit 3) when n8n dies without a drain and refuses the spent grant on the second connection", func(ctx SpecContext) {
		grant, err := transport.FetchGrantToken(ctx, http.DefaultClient, server.BrokerURL(), authToken)
		Expect(err).NotTo(HaveOccurred())
		grantOnly := launchRunwire("N8N_RUNNERS_GRANT_TOKEN="+grant, "RUNWIRE_BACKOFF_INITIAL=200ms")
		Eventually(grantOnly.ready).Should(BeTrue())
		withAuth := startRunwire()

		opts := server.Options()
		server.Kill()
		startN8n(ctx, opts)
		Eventually(grantOnly.session, 60*time.Second).Should(gexec.Exit(3))
		Expect(string(grantOnly.session.Out.Contents())).To(ContainSubstring("set N8N_RUNNERS_AUTH_TOKEN"))
		Expect(string(grantOnly.session.Out.Contents())).NotTo(ContainSubstring(grant), "the grant token is never logged")
		Eventually(withAuth.ready, 60*time.Second).Should(BeTrue())
		works(ctx)
	}, SpecTimeout(3*time.Minute))
})
