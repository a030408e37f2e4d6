//go:build e2e

package e2e_test

import (
	"io"
	"net/http"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/runwire/runwire/e2e/n8n"
)

var _ = Describe("A runwire without Python, in n8n", Label("e2e"), func() {
	const missing = "/nonexistent/runwire-e2e/python3"

	It("is unavailable on /readyz, and the Code node fails at once with the reason instead of n8n's 60 s timeout", func(ctx SpecContext) {
		r := launchRunwire("N8N_RUNNERS_AUTH_TOKEN="+authToken, "RUNWIRE_PYTHON="+missing)
		Eventually(ctx, r.session.Out).Should(gbytes.Say("Registered with broker"))
		Eventually(ctx, func() int { status, _ := readyz(r); return status }).Should(Equal(http.StatusServiceUnavailable))
		_, body := readyz(r)
		Expect(body).To(And(ContainSubstring("python"), ContainSubstring(missing)))

		_, _, exec := run(ctx, python("unavailable", `return [{"json": {"ok": True}}]`, n8n.RunOnceForAllItems, false), map[string]any{})
		Expect(codeError(exec).Message).To(And(
			ContainSubstring("Python is not available on this runner"), ContainSubstring("RUNWIRE_PYTHON"), ContainSubstring(missing)))
	}, SpecTimeout(20*time.Second))
})

// readyz is runwire's /readyz answer: status and body.
func readyz(r *runner) (int, string) {
	resp, err := healthClient.Get("http://127.0.0.1:" + strconv.Itoa(r.healthPort) + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(body)
}
