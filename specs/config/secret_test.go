package config_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/config"
)

// leaks reports whether s shows either token in any common encoding.
func leaks(s string) bool {
	for _, t := range []string{token, grantToken} {
		if strings.Contains(s, t) ||
			strings.Contains(strings.ToLower(s), hex.EncodeToString([]byte(t))) ||
			strings.Contains(s, t[:7]) { // a prefix is a leak too (yaml.v3 quotes 7 characters)
			return true
		}
	}
	return false
}

var _ = Describe("Secrets", func() {
	var cfg config.Config

	BeforeEach(func() {
		cfg = mustLoad(nil, []string{"N8N_RUNNERS_AUTH_TOKEN=" + token, "N8N_RUNNERS_GRANT_TOKEN=" + grantToken})
		// The detector must work, or every spec below would pass vacuously.
		Expect(leaks(cfg.AuthToken.Reveal())).To(BeTrue())
		Expect(leaks(fmt.Sprintf("%x", cfg.GrantToken.Reveal()))).To(BeTrue())
	})

	It("are revealed only by Reveal", func() {
		Expect(cfg.AuthToken.Reveal()).To(Equal(token))
		Expect(cfg.GrantToken.Reveal()).To(Equal(grantToken))
		Expect(cfg.AuthToken.IsSet()).To(BeTrue())
		Expect(config.Secret("").IsSet()).To(BeFalse())
	})

	It("never appear in Describe()", func() {
		out := cfg.Describe()
		Expect(leaks(out)).To(BeFalse(), out)
		Expect(out).To(ContainSubstring("auth_token: [redacted]"))
		Expect(out).To(ContainSubstring("grant_token: [redacted]"))
	})

	It("show as (not set) in Describe() when empty", func() {
		out := mustLoad(nil, withToken()).Describe()
		Expect(out).To(ContainSubstring("grant_token: (not set)"))
	})

	It("never appear when the Config is formatted with fmt", func() {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
			out := fmt.Sprintf(verb, cfg)
			Expect(leaks(out)).To(BeFalse(), "%s: %s", verb, out)
			out = fmt.Sprintf(verb, cfg.AuthToken)
			Expect(leaks(out)).To(BeFalse(), "%s: %s", verb, out)
		}
		Expect(fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg)).To(ContainSubstring("[redacted]"))
		Expect(fmt.Sprint(&cfg)).To(ContainSubstring("[redacted]"))
		Expect(leaks(fmt.Sprint(&cfg))).To(BeFalse())
	})

	It("print as [redacted] when set and empty when not, through every method", func() {
		s := config.Secret(token)
		Expect(s.String()).To(Equal("[redacted]"))
		Expect(s.GoString()).To(Equal("[redacted]"))
		Expect(fmt.Sprintf("%v", s)).To(Equal("[redacted]"))
		Expect(s.LogValue().String()).To(Equal("[redacted]"))
		text, err := s.MarshalText()
		Expect(err).NotTo(HaveOccurred())
		Expect(string(text)).To(Equal("[redacted]"))

		var empty config.Secret
		Expect(empty.String()).To(BeEmpty())
		Expect(empty.GoString()).To(BeEmpty())
		Expect(fmt.Sprintf("%v", empty)).To(BeEmpty())
		Expect(empty.LogValue().String()).To(BeEmpty())
	})

	It("never appear in slog text or JSON output, of the Config or of a Secret", func() {
		for _, h := range []func(*bytes.Buffer) slog.Handler{
			func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			var b bytes.Buffer
			log := slog.New(h(&b))
			log.Info("loaded", "config", cfg, "token", cfg.AuthToken, "grant", cfg.GrantToken)
			log.Info("loaded", slog.Any("config_ptr", &cfg), slog.Group("g", "token", cfg.AuthToken))
			Expect(leaks(b.String())).To(BeFalse(), b.String())
			Expect(b.String()).To(ContainSubstring("[redacted]"))
		}
	})

	It("never appear in JSON encoding", func() {
		b, err := json.Marshal(cfg)
		Expect(err).NotTo(HaveOccurred())
		Expect(leaks(string(b))).To(BeFalse(), string(b))
		Expect(string(b)).To(ContainSubstring(`"AuthToken":"[redacted]"`))
	})

	It("can still be filled by decoding, though they marshal redacted", func() {
		var s config.Secret
		Expect(json.Unmarshal([]byte(`"`+token+`"`), &s)).To(Succeed())
		Expect(s.Reveal()).To(Equal(token))
	})

	Describe("never appear in any error or warning", func() {
		expectNoLeak := func(args []string, env []string) {
			GinkgoHelper()
			c, err := config.Load(args, env)
			if err != nil {
				Expect(leaks(err.Error())).To(BeFalse(), err.Error())
				Expect(leaks(fmt.Sprintf("%+v %#v", err, err))).To(BeFalse())
				for _, p := range problems(err) {
					for u := p; u != nil; u = unwrapOne(u) {
						Expect(leaks(u.Error())).To(BeFalse(), "cause: %s", u.Error())
					}
				}
			}
			Expect(leaks(strings.Join(c.Warnings, "\n"))).To(BeFalse(), "%v", c.Warnings)
		}

		It("when other settings are invalid", func() {
			expectNoLeak([]string{"--max-concurrency=0"}, []string{"N8N_RUNNERS_AUTH_TOKEN=" + token, "N8N_RUNNERS_GRANT_TOKEN=" + grantToken, "RUNWIRE_LOG_FORMAT=xml"})
		})

		It("when a token in the config file has the wrong type", func() {
			p := writeFile("bad.yaml", "auth_token: ["+token+"]\ngrant_token: {value: "+grantToken+"}\n")
			_, err := config.Load([]string{"--config", p}, nil)
			Expect(err).To(HaveOccurred())
			expectNoLeak([]string{"--config", p}, nil)
		})

		It("when the config file path points at a token file", func() {
			p := writeFile("token", token+"\n")
			_, err := config.Load(nil, []string{"RUNWIRE_CONFIG=" + p})
			Expect(err).To(HaveOccurred())
			expectNoLeak(nil, []string{"RUNWIRE_CONFIG=" + p})
		})

		DescribeTable("when a token file is mounted under another variable's _FILE",
			func(name string, wantErr bool) {
				p := writeFile("token", token+"\n")
				env := []string{"N8N_RUNNERS_GRANT_TOKEN=x", name + "_FILE=" + p}
				c, err := config.Load(nil, env)
				if wantErr {
					Expect(err).To(HaveOccurred(), "the spec must exercise an error path")
				} else {
					Expect(c.Warnings).NotTo(BeEmpty(), "the spec must exercise a warning path")
				}
				expectNoLeak(nil, env)
			},
			Entry(nil, "N8N_RUNNERS_TASK_BROKER_URI", true),
			Entry(nil, "N8N_RUNNERS_MAX_CONCURRENCY", true),
			Entry(nil, "N8N_RUNNERS_MAX_PAYLOAD", true),
			Entry(nil, "N8N_RUNNERS_TASK_TIMEOUT", true),
			Entry(nil, "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", true),
			Entry(nil, "RUNWIRE_LOG_FORMAT", true),
			Entry(nil, "RUNWIRE_PING_INTERVAL", true),
			Entry(nil, "RUNWIRE_BACKOFF_MULTIPLIER", true),
			Entry(nil, "N8N_RUNNERS_LAUNCHER_LOG_LEVEL", false),
		)

		It("when the broker URI carries credentials", func() {
			env := []string{"N8N_RUNNERS_GRANT_TOKEN=x", "N8N_RUNNERS_TASK_BROKER_URI=ftp://user:" + token + "@broker/?t=" + grantToken}
			_, err := config.Load(nil, env)
			Expect(err).To(HaveOccurred())
			expectNoLeak(nil, env)
		})

		It("in Describe() when a Config carries a password in the broker URI", func() {
			c := config.Default()
			c.BrokerURI = "https://user:" + token + "@broker"
			Expect(leaks(c.Describe())).To(BeFalse(), c.Describe())
		})
	})
})

func unwrapOne(err error) error {
	u, ok := err.(interface{ Unwrap() error })
	if !ok {
		return nil
	}
	return u.Unwrap()
}
