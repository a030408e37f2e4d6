package fsm_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"github.com/runwire/runwire/fsm"
	"github.com/runwire/runwire/specs/support"
	"github.com/runwire/runwire/transport"
)

var _ = Describe("Connecting", Label("integration"), func() {
	It("--connected--> Listening and registers, with a grant token given as is", func(ctx SpecContext) {
		b := newBroker()
		r := newRunner(b.URL(), grantOnly(b.IssueGrant())).start(ctx)

		c := nextRegistration(b)
		Eventually(r.m.Registered).Should(BeTrue())
		Expect(r.m.State()).To(Equal(fsm.Listening))
		Expect(c.ID).To(Equal(r.dialer.RunnerID))
		Expect(c.Received()[0]).To(Equal(map[string]any{"type": "runner:info", "name": "runwire", "types": []any{"python"}}))
		Expect(b.AuthRequests()).To(BeZero())
	}, SpecTimeout(10*time.Second))

	It("logs each state change once, with from, to, event and reason", func(ctx SpecContext) {
		b := newBroker()
		r := newRunner(b.URL()).start(ctx)
		nextRegistration(b)
		Eventually(r.logs).Should(gbytes.Say(`"msg":"Connecting to broker".*"from":"Idle","to":"Connecting","event":"start","reason":"Run called"`))
		Eventually(r.logs).Should(gbytes.Say(`"msg":"Connected to broker".*"from":"Connecting","to":"Listening","event":"connected","reason":"broker sent broker:inforequest"`))
		Eventually(r.logs).Should(gbytes.Say(`"msg":"Registered with broker"`))
		Expect(strings.Count(string(r.logs.Contents()), `"to":"Listening"`)).To(Equal(1))
		Expect(string(r.logs.Contents())).NotTo(ContainSubstring(authToken))
	}, SpecTimeout(10*time.Second))

	DescribeTable("--auth_rejected--> AuthFailed after exactly one dial when a given grant token is refused",
		func(ctx SpecContext, refuse func(b *support.Broker)) {
			b := newBroker()
			refuse(b)
			r := newRunner(b.URL(), grantOnly("spent-grant-token-9f2e")).start(ctx)

			Eventually(r.finished).Should(BeClosed())
			Expect(r.Err()).To(MatchError(fsm.ErrAuthFailed))
			Expect(errors.Is(r.Err(), transport.ErrAuthRejected)).To(BeTrue())
			Expect(r.Err().Error()).To(ContainSubstring("N8N_RUNNERS_AUTH_TOKEN"))
			Expect(r.Err().Error()).To(ContainSubstring("single-use"))
			Expect(r.Err().Error()).NotTo(ContainSubstring("spent-grant-token-9f2e"))
			Expect(r.m.State()).To(Equal(fsm.AuthFailed))
			Consistently(b.Dials, 300*time.Millisecond).Should(Equal(1))
			Expect(r.backoff.Delays()).To(BeEmpty())
		},
		Entry("upgrade answered 403 (n8n 2.41, spent grant)", func(b *support.Broker) { b.SetRefusal(support.RefuseHTTP) }, SpecTimeout(10*time.Second)),
		Entry("upgrade answered 401 (n8n 2.41, no header)", func(b *support.Broker) { b.SetUpgradeStatus(http.StatusUnauthorized) }, SpecTimeout(10*time.Second)),
		Entry("closed before broker:inforequest (n8n 2.1)", func(b *support.Broker) { b.SetRefusal(support.RefuseClose) }, SpecTimeout(10*time.Second)),
	)

	It("fetches a fresh grant token for every attempt with an auth token", func(ctx SpecContext) {
		b := newBroker()
		newRunner(b.URL()).start(ctx)

		nextRegistration(b).Drop()
		nextRegistration(b)
		Expect(b.AuthRequests()).To(Equal(2))
		Expect(b.Dials()).To(Equal(2))
	}, SpecTimeout(10*time.Second))

	DescribeTable("--auth_rejected--> AuthFailed when /runners/auth refuses the auth token",
		func(ctx SpecContext, code int) {
			b := newBroker()
			b.SetAuthStatus(code)
			r := newRunner(b.URL()).start(ctx)

			Eventually(r.finished).Should(BeClosed())
			Expect(r.Err()).To(MatchError(fsm.ErrAuthFailed))
			Expect(r.Err().Error()).NotTo(ContainSubstring(authToken))
			Consistently(b.AuthRequests, 300*time.Millisecond).Should(Equal(1))
			Expect(b.Dials()).To(BeZero())
		},
		Entry("403", http.StatusForbidden, SpecTimeout(10*time.Second)),
		Entry("401", http.StatusUnauthorized, SpecTimeout(10*time.Second)),
	)

	It("--auth_rejected--> AuthFailed when the auth token is wrong", func(ctx SpecContext) {
		b := newBroker()
		r := newRunner(b.URL(), func(d *transport.Dialer, _ *fsm.Options) { d.AuthToken = "wrong-auth-token" }).start(ctx)
		Eventually(r.finished).Should(BeClosed())
		Expect(r.Err()).To(MatchError(fsm.ErrAuthFailed))
		Expect(r.Err().Error()).NotTo(ContainSubstring("wrong-auth-token"))
	}, SpecTimeout(10*time.Second))

	DescribeTable("--dial_failed--> Backoff on a transient failure, then registers once it clears",
		func(ctx SpecContext, fail func(b *support.Broker), heal func(b *support.Broker)) {
			b := newBroker()
			fail(b)
			r := newRunner(b.URL()).start(ctx)

			Eventually(func() int { return len(r.backoff.Delays()) }).Should(BeNumerically(">=", 2))
			Expect(r.m.State()).NotTo(Equal(fsm.AuthFailed))
			heal(b)
			nextRegistration(b)
			Eventually(r.m.State).Should(Equal(fsm.Listening))
		},
		Entry("/runners/auth answers 429", func(b *support.Broker) { b.SetAuthStatus(http.StatusTooManyRequests) }, func(b *support.Broker) { b.SetAuthStatus(0) }, SpecTimeout(10*time.Second)),
		Entry("/runners/auth answers 500", func(b *support.Broker) { b.SetAuthStatus(http.StatusInternalServerError) }, func(b *support.Broker) { b.SetAuthStatus(0) }, SpecTimeout(10*time.Second)),
		Entry("the upgrade answers 503", func(b *support.Broker) { b.SetUpgradeStatus(http.StatusServiceUnavailable) }, func(b *support.Broker) { b.SetUpgradeStatus(0) }, SpecTimeout(10*time.Second)),
		Entry("a fresh grant's connection is closed before broker:inforequest", func(b *support.Broker) { b.SetSkipInfoRequest(true) }, func(b *support.Broker) { b.SetSkipInfoRequest(false) }, SpecTimeout(10*time.Second)),
	)

	It("--dial_failed--> Backoff when broker:inforequest does not come in time", func(ctx SpecContext) {
		b := newBroker()
		b.HoldUpgrades()
		r := newRunner(b.URL(), func(d *transport.Dialer, _ *fsm.Options) { d.HandshakeTimeout = 100 * time.Millisecond }).start(ctx)
		Eventually(func() int { return len(r.backoff.Delays()) }).Should(BeNumerically(">=", 1))
		b.ReleaseUpgrades()
		nextRegistration(b)
	}, SpecTimeout(10*time.Second))
})

var _ = Describe("Backoff", Label("integration"), func() {
	It("--retry--> Connecting with growing delays while the broker is down, registers when it appears, then starts over", func(ctx SpecContext) {
		reserved, err := net.Listen("tcp", "127.0.0.1:0")
		Expect(err).NotTo(HaveOccurred())
		addr := reserved.Addr().String()
		Expect(reserved.Close()).To(Succeed())

		r := newRunner("http://" + addr).start(ctx)
		Eventually(func() int { return len(r.backoff.Delays()) }).Should(BeNumerically(">=", 4))
		Expect(r.backoff.Delays()[:4]).To(Equal([]time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}))

		ln, err := net.Listen("tcp", addr)
		Expect(err).NotTo(HaveOccurred())
		b := support.NewBroker(authToken, ln)
		DeferCleanup(b.Close)
		c := nextRegistration(b)
		Eventually(r.m.State).Should(Equal(fsm.Listening))

		// Registered: the next run of failures starts from the first delay again.
		before := len(r.backoff.Delays())
		c.Drop()
		nextRegistration(b)
		Expect(r.backoff.Delays()[before]).To(Equal(10 * time.Millisecond))
	}, SpecTimeout(15*time.Second))
})

var _ = Describe("Listening", Label("integration"), func() {
	DescribeTable("--conn_lost--> Backoff when the broker ends the connection, then registers again",
		func(ctx SpecContext, end func(c *support.BrokerConn)) {
			b := newBroker()
			r := newRunner(b.URL()).start(ctx)
			first := nextRegistration(b)
			end(first)
			second := nextRegistration(b)
			Expect(second).NotTo(BeIdenticalTo(first))
			Expect(second.ID).To(Equal(first.ID), "the runner id is stable for the process")
			Eventually(r.m.State).Should(Equal(fsm.Listening))
			Eventually(r.logs).Should(gbytes.Say(`"msg":"Disconnected from broker".*"from":"Listening","to":"Backoff","event":"conn_lost"`))
		},
		Entry("close 1000 (normal)", func(c *support.BrokerConn) { c.Close(websocket.StatusNormalClosure) }, SpecTimeout(10*time.Second)),
		Entry("close 1001 (going away)", func(c *support.BrokerConn) { c.Close(websocket.StatusGoingAway) }, SpecTimeout(10*time.Second)),
		Entry("close 1002 (failed heartbeat)", func(c *support.BrokerConn) { c.Close(websocket.StatusProtocolError) }, SpecTimeout(10*time.Second)),
		Entry("TCP dropped", func(c *support.BrokerConn) { c.Drop() }, SpecTimeout(10*time.Second)),
	)

	It("--conn_lost--> Backoff when a ping goes unanswered", func(ctx SpecContext) {
		b := newBroker()
		proxy, err := support.NewProxy(strings.TrimPrefix(b.URL(), "http://"))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(proxy.Close)
		r := newRunner(proxy.URL(), func(d *transport.Dialer, _ *fsm.Options) { d.PingInterval = 100 * time.Millisecond }).start(ctx)

		nextRegistration(b)
		proxy.Blackhole()
		Eventually(r.logs).Should(gbytes.Say(`"to":"Backoff","event":"conn_lost","reason":"broker did not answer a ping in time`))
		nextRegistration(b) // a new connection through the proxy is forwarded again
	}, SpecTimeout(10*time.Second))

	It("--conn_lost--> Backoff on a message over the read limit, and reconnects", func(ctx SpecContext) {
		b := newBroker()
		r := newRunner(b.URL(), func(d *transport.Dialer, _ *fsm.Options) { d.MaxPayload = 1024 }).start(ctx)

		c := nextRegistration(b)
		big := `{"type":"broker:taskcancel","taskId":"t","reason":"` + strings.Repeat("x", 2048) + `"}`
		Expect(c.SendRaw(ctx, websocket.MessageText, []byte(big))).To(Succeed())
		Eventually(r.logs).Should(gbytes.Say(`"event":"conn_lost","reason":"broker message exceeds N8N_RUNNERS_MAX_PAYLOAD`))
		nextRegistration(b)
	}, SpecTimeout(10*time.Second))

	It("skips malformed, unknown and binary messages and keeps the connection", func(ctx SpecContext) {
		b := newBroker()
		r := newRunner(b.URL()).start(ctx)
		c := nextRegistration(b)
		Eventually(c.Types()).Should(Receive(Equal("runner:info")))

		for _, frame := range []string{
			`not json at all`,
			`{"type":"broker:somethingnew","secret":"do-not-log-me"}`,
			`{"type":"broker:taskofferaccept","offerId":"o1"}`,
			`{"no":"type"}`,
			`[1,2,3]`,
		} {
			Expect(c.SendRaw(ctx, websocket.MessageText, []byte(frame))).To(Succeed())
		}
		Expect(c.SendRaw(ctx, websocket.MessageBinary, []byte(`{"type":"broker:inforequest"}`))).To(Succeed())
		// A valid message after all of that is still read and answered on the same connection.
		Expect(c.SendJSON(ctx, map[string]any{"type": "broker:inforequest"})).To(Succeed())
		Eventually(c.Types()).Should(Receive(Equal("runner:info")))

		Consistently(r.m.State, 200*time.Millisecond).Should(Equal(fsm.Listening))
		Expect(b.Dials()).To(Equal(1))
		Expect(c.Closed()).NotTo(BeClosed())
		Expect(string(r.logs.Contents())).To(ContainSubstring(`"type":"broker:somethingnew"`))
		Expect(string(r.logs.Contents())).To(ContainSubstring("Skipped a binary frame"))
		Expect(string(r.logs.Contents())).NotTo(ContainSubstring("do-not-log-me"))
	}, SpecTimeout(10*time.Second))
})

var _ = Describe("stop", func() {
	It("from Idle: Stopped without a dial, and Run then returns at once", func(ctx SpecContext) {
		b := newBroker()
		r := newRunner(b.URL())
		r.m.Stop()
		Expect(r.m.State()).To(Equal(fsm.Stopped))
		r.start(ctx)
		Eventually(r.finished).Should(BeClosed())
		Expect(r.Err()).NotTo(HaveOccurred())
		Expect(b.Dials() + b.AuthRequests()).To(BeZero())
	}, SpecTimeout(10*time.Second))

	It("from Connecting: aborts the dial", Label("integration"), func(ctx SpecContext) {
		b := newBroker()
		b.HoldUpgrades()
		r := newRunner(b.URL()).start(ctx)
		Eventually(b.Dials).Should(Equal(1))
		Expect(r.m.State()).To(Equal(fsm.Connecting))
		r.m.Stop()
		Eventually(r.finished).Should(BeClosed())
		Expect(r.Err()).NotTo(HaveOccurred())
		Expect(r.m.State()).To(Equal(fsm.Stopped))
	}, SpecTimeout(10*time.Second))

	It("from Listening: closes with 1001 (going away)", Label("integration"), func(ctx SpecContext) {
		b := newBroker()
		r := newRunner(b.URL()).start(ctx)
		c := nextRegistration(b)
		r.m.Stop()
		Eventually(r.finished).Should(BeClosed())
		Expect(r.Err()).NotTo(HaveOccurred())
		Eventually(c.Closed()).Should(BeClosed())
		Expect(c.CloseCode()).To(Equal(websocket.StatusGoingAway))
		Expect(r.m.Registered()).To(BeFalse())
	}, SpecTimeout(10*time.Second))

	It("from Backoff: cancels the wait", Label("integration"), func(ctx SpecContext) {
		b := newBroker()
		b.SetUpgradeStatus(http.StatusServiceUnavailable)
		r := newRunner(b.URL(), func(_ *transport.Dialer, o *fsm.Options) {
			o.Backoff = fsm.Exponential{Initial: time.Hour, Max: time.Hour, Multiplier: 1}
		}).start(ctx)
		Eventually(r.m.State).Should(Equal(fsm.Backoff))
		r.m.Stop()
		Eventually(r.finished).Should(BeClosed()) // well before the hour
		Expect(r.m.State()).To(Equal(fsm.Stopped))
		Expect(b.Dials()).To(Equal(1))
	}, SpecTimeout(10*time.Second))

	It("from AuthFailed: Stopped", Label("integration"), func(ctx SpecContext) {
		b := newBroker()
		r := newRunner(b.URL(), grantOnly("unknown")).start(ctx)
		Eventually(r.finished).Should(BeClosed())
		Expect(r.m.State()).To(Equal(fsm.AuthFailed))
		r.m.Stop()
		Expect(r.m.State()).To(Equal(fsm.Stopped))
	}, SpecTimeout(10*time.Second))

	It("when Run's context is cancelled", Label("integration"), func(ctx SpecContext) {
		b := newBroker()
		runCtx, cancel := context.WithCancel(ctx)
		DeferCleanup(cancel)
		r := newRunner(b.URL()).start(runCtx)
		nextRegistration(b)
		cancel()
		Eventually(r.finished).Should(BeClosed())
		Expect(r.Err()).NotTo(HaveOccurred())
		Expect(r.m.State()).To(Equal(fsm.Stopped))
	}, SpecTimeout(10*time.Second))
})

var _ = Describe("Run", func() {
	It("runs once", func(ctx SpecContext) {
		b := newBroker()
		r := newRunner(b.URL()).start(ctx)
		Expect(r.m.WaitForStateChange(ctx, fsm.Idle)).To(BeTrue())
		Expect(r.m.Run(ctx)).To(MatchError(fsm.ErrAlreadyRun))
	}, SpecTimeout(10*time.Second))

	It("refuses an idle timeout without a handler, before any dial", func(ctx SpecContext) {
		b := newBroker()
		r := newRunner(b.URL(), func(_ *transport.Dialer, o *fsm.Options) { o.IdleTimeout = time.Second }).start(ctx)
		Eventually(r.finished).Should(BeClosed())
		var nih *fsm.NoIdleTimeoutHandlerError
		Expect(errors.As(r.Err(), &nih)).To(BeTrue())
		Expect(r.Err().Error()).To(ContainSubstring("N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT"))
		Expect(b.Dials() + b.AuthRequests()).To(BeZero())
	}, SpecTimeout(10*time.Second))

	It("calls the idle handler once registered for the idle timeout, and stops through it", Label("integration"), func(ctx SpecContext) {
		b := newBroker()
		idled := make(chan struct{})
		var m *fsm.Machine
		r := newRunner(b.URL(), func(_ *transport.Dialer, o *fsm.Options) {
			o.IdleTimeout = 50 * time.Millisecond
			o.OnIdle = func() { close(idled); m.Stop() }
		})
		m = r.m
		r.start(ctx)
		c := nextRegistration(b)
		Eventually(idled).Should(BeClosed())
		Eventually(r.finished).Should(BeClosed())
		Expect(r.Err()).NotTo(HaveOccurred())
		Eventually(c.Closed()).Should(BeClosed())
		Expect(c.CloseCode()).To(Equal(websocket.StatusGoingAway))
	}, SpecTimeout(10*time.Second))

	It("does not call the idle handler while the broker has not registered the runner", Label("integration"), func(ctx SpecContext) {
		b := newBroker()
		b.HoldUpgrades()
		idled := make(chan struct{})
		r := newRunner(b.URL(), func(_ *transport.Dialer, o *fsm.Options) {
			o.IdleTimeout = 20 * time.Millisecond
			o.OnIdle = func() { close(idled) }
		}).start(ctx)
		Eventually(b.Dials).Should(Equal(1))
		Consistently(idled, 200*time.Millisecond).ShouldNot(BeClosed())
		Expect(r.m.State()).To(Equal(fsm.Connecting))
	}, SpecTimeout(10*time.Second))
})
