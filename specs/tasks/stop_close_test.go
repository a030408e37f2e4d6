package tasks_test

import (
	"github.com/coder/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("A stop while offers go out", Label("integration"), func() {
	// coder/websocket closes a connection at once, without a close frame, when the context of
	// a write in progress ends. A stop cancels the connection's context while the offer loop
	// is writing its first offers, so the close frame must not depend on that context: the
	// broker sees 1001 every time, not 19 times in 20.
	It("always ends the connection with a 1001 close frame", func(ctx SpecContext) {
		r := newRig(ctx, withMax(64))
		p := r.connection()
		r.m.Stop()
		Eventually(ctx, p.c.Closed()).Should(BeClosed())
		Expect(p.c.CloseCode()).To(Equal(websocket.StatusGoingAway), "the close frame the runner sent")
	}, MustPassRepeatedly(100), SpecTimeout(specTimeout))
})
