package config_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/config"
)

var _ = Describe("Defaults", func() {
	It("are n8n's runner defaults and runwire's own when only a token is set", func() {
		cfg := mustLoad(nil, []string{"N8N_RUNNERS_AUTH_TOKEN=" + token})

		Expect(cfg.BrokerURI).To(Equal("http://127.0.0.1:5679"))
		Expect(cfg.AuthToken.Reveal()).To(Equal(token))
		Expect(cfg.GrantToken.IsSet()).To(BeFalse())
		Expect(cfg.MaxConcurrency).To(Equal(5))
		Expect(cfg.MaxPayload).To(Equal(int64(1073741824)))
		Expect(cfg.TaskTimeout).To(Equal(60 * time.Second))
		Expect(cfg.AutoShutdownTimeout).To(Equal(time.Duration(0)))
		Expect(cfg.GracefulShutdownTimeout).To(Equal(10 * time.Second))
		Expect(cfg.HealthCheck).To(Equal(config.HealthCheck{Enabled: false, Host: "127.0.0.1", Port: 5681, Metrics: true}))
		Expect(cfg.Log).To(Equal(config.Log{Level: "INFO", Format: "auto"}))
		Expect(cfg.Sandbox.StdlibAllow).To(BeEmpty())
		Expect(cfg.Sandbox.ExternalAllow).To(BeEmpty())
		Expect(cfg.Sandbox.BuiltinsDeny).To(Equal([]string{
			"eval", "exec", "compile", "open", "input", "breakpoint", "getattr", "object", "type", "vars",
			"setattr", "delattr", "hasattr", "dir", "memoryview", "__build_class__", "globals", "locals",
			"license", "help", "credits", "copyright",
		}))
		Expect(cfg.Sandbox.BlockEnvAccess).To(BeTrue())
		Expect(cfg.Sandbox.AllowTransitiveImports).To(BeFalse())
		Expect(cfg.Sandbox.EnvAllow).To(BeEmpty())
		Expect(cfg.Backoff).To(Equal(config.Backoff{Initial: time.Second, Max: 30 * time.Second, Multiplier: 1.6, Jitter: 0.2}))
		Expect(cfg.PingInterval).To(Equal(30 * time.Second))
		Expect(cfg.HandshakeTimeout).To(Equal(10 * time.Second))
		Expect(cfg.File).To(BeEmpty())
		Expect(cfg.Warnings).To(BeEmpty())
	})

	It("match Default() apart from the token", func() {
		cfg := mustLoad(nil, withToken())
		want := config.Default()
		want.AuthToken = token
		Expect(cfg).To(Equal(want))
	})

	It("are fresh on every call, so one caller cannot change another's", func() {
		a := config.Default()
		a.Sandbox.BuiltinsDeny[0] = "changed"
		Expect(config.Default().Sandbox.BuiltinsDeny[0]).To(Equal("eval"))

		first := mustLoad(nil, withToken())
		first.Sandbox.BuiltinsDeny[0] = "changed"
		Expect(mustLoad(nil, withToken()).Sandbox.BuiltinsDeny[0]).To(Equal("eval"))
	})

	It("ignore variables outside the allow-list, including the underscore-to-dot trap", func() {
		cfg := mustLoad(nil, withToken(
			"N8N_RUNNERS_HEARTBEAT_INTERVAL=1",    // passed by n8n, ignored by its runner too
			"HEALTH_CHECK_PORT=1",                 // would be health_check.port under a "_"→"." rule
			"MAX_CONCURRENCY=1",                   // ditto
			"N8N_RUNNERS_MAX_CONCURRENCY_EXTRA=1", // not our variable
		))
		want := config.Default()
		want.AuthToken = token
		Expect(cfg).To(Equal(want))
	})

	It("let a later duplicate in environ win, as exec.Cmd.Env does", func() {
		cfg := mustLoad(nil, withToken("N8N_RUNNERS_MAX_CONCURRENCY=2", "N8N_RUNNERS_MAX_CONCURRENCY=3"))
		Expect(cfg.MaxConcurrency).To(Equal(3))
	})
})
