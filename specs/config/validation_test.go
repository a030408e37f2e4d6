package config_test

import (
	"errors"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/config"
)

const noCredentials = "no broker credentials: set N8N_RUNNERS_AUTH_TOKEN (the broker's auth token; " +
	"runwire then fetches a fresh grant token for every connection) or N8N_RUNNERS_GRANT_TOKEN (a single-use grant token)"

var _ = Describe("Validation", func() {
	It("requires a credential, naming both variables in one message", func() {
		err := loadErr(nil, nil)
		Expect(problems(err)).To(HaveLen(1))
		Expect(err.Error()).To(Equal(noCredentials))
	})

	It("accepts either credential alone", func() {
		Expect(mustLoad(nil, []string{"N8N_RUNNERS_GRANT_TOKEN=" + grantToken}).GrantToken.IsSet()).To(BeTrue())
		Expect(mustLoad(nil, []string{"N8N_RUNNERS_AUTH_TOKEN=" + token}).AuthToken.IsSet()).To(BeTrue())
	})

	DescribeTable("rejects a bad value with one error that names the variable",
		func(env string, variable, want string) {
			err := loadErr(nil, withToken(env))
			Expect(problems(err)).To(HaveLen(1), "exactly one problem: %v", err)
			Expect(err.Error()).To(ContainSubstring(variable))
			Expect(err.Error()).To(ContainSubstring(want))
		},
		Entry(nil, "N8N_RUNNERS_TASK_BROKER_URI=ftp://broker:5679", "N8N_RUNNERS_TASK_BROKER_URI", "http://, https://, ws:// or wss://"),
		Entry(nil, "N8N_RUNNERS_TASK_BROKER_URI=127.0.0.1:5679", "N8N_RUNNERS_TASK_BROKER_URI", "not a valid URL"),
		Entry(nil, "N8N_RUNNERS_TASK_BROKER_URI=localhost:5679", "N8N_RUNNERS_TASK_BROKER_URI", "http://, https://, ws:// or wss://"),
		Entry(nil, "N8N_RUNNERS_TASK_BROKER_URI=http://", "N8N_RUNNERS_TASK_BROKER_URI", "has no host"),
		Entry(nil, "N8N_RUNNERS_TASK_BROKER_URI=http:///runners", "N8N_RUNNERS_TASK_BROKER_URI", "has no host"),
		Entry(nil, "N8N_RUNNERS_TASK_BROKER_URI=http://broker:5679/?x=1", "N8N_RUNNERS_TASK_BROKER_URI", "must not have a query string"),
		Entry(nil, "N8N_RUNNERS_TASK_BROKER_URI=http://broker:99999", "N8N_RUNNERS_TASK_BROKER_URI", "invalid port"),
		Entry(nil, "N8N_RUNNERS_TASK_BROKER_URI=http://user:pw@broker:5679", "N8N_RUNNERS_TASK_BROKER_URI", "must not contain user info"),
		Entry(nil, "N8N_RUNNERS_TASK_BROKER_URI=", "N8N_RUNNERS_TASK_BROKER_URI", "http://, https://, ws:// or wss://"),
		Entry(nil, "N8N_RUNNERS_ID=a b", "N8N_RUNNERS_ID", `must not contain spaces or control characters, got "a b"`),
		Entry(nil, "N8N_RUNNERS_MAX_CONCURRENCY=0", "N8N_RUNNERS_MAX_CONCURRENCY", "at least 1, got 0"),
		Entry(nil, "N8N_RUNNERS_MAX_CONCURRENCY=-2", "N8N_RUNNERS_MAX_CONCURRENCY", "at least 1, got -2"),
		Entry(nil, "N8N_RUNNERS_MAX_PAYLOAD=0", "N8N_RUNNERS_MAX_PAYLOAD", "between 1 and 4294967295"),
		Entry(nil, "N8N_RUNNERS_MAX_PAYLOAD=4294967296", "N8N_RUNNERS_MAX_PAYLOAD", "got 4294967296"),
		Entry(nil, "N8N_RUNNERS_TASK_TIMEOUT=0", "N8N_RUNNERS_TASK_TIMEOUT", "positive number of seconds, got 0"),
		Entry(nil, "N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT=-1", "N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT", "got -1"),
		Entry(nil, "N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT=0", "N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT", "positive number of seconds, got 0"),
		Entry("port: n8n's message", "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=70000", "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT",
			"N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT: Port must be between 0 and 65535, got 70000"),
		Entry(nil, "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=-1", "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", "got -1"),
		Entry(nil, "RUNWIRE_LOG_FORMAT=xml", "RUNWIRE_LOG_FORMAT", `auto, text or json, got "xml"`),
		Entry(nil, "N8N_RUNNERS_STDLIB_ALLOW=*,os", "N8N_RUNNERS_STDLIB_ALLOW", `"*" allows everything and must be the only entry`),
		Entry(nil, "N8N_RUNNERS_EXTERNAL_ALLOW=numpy, *", "N8N_RUNNERS_EXTERNAL_ALLOW", `"*" allows everything and must be the only entry`),
		Entry(nil, "RUNWIRE_BACKOFF_INITIAL=0s", "RUNWIRE_BACKOFF_INITIAL", "greater than 0"),
		Entry(nil, "RUNWIRE_BACKOFF_MAX=500ms", "RUNWIRE_BACKOFF_MAX", "must not be less than RUNWIRE_BACKOFF_INITIAL"),
		Entry(nil, "RUNWIRE_BACKOFF_MULTIPLIER=0.5", "RUNWIRE_BACKOFF_MULTIPLIER", "at least 1"),
		Entry(nil, "RUNWIRE_BACKOFF_MULTIPLIER=NaN", "RUNWIRE_BACKOFF_MULTIPLIER", "at least 1"),
		Entry(nil, "RUNWIRE_BACKOFF_MULTIPLIER=+Inf", "RUNWIRE_BACKOFF_MULTIPLIER", "finite"),
		Entry(nil, "RUNWIRE_BACKOFF_JITTER=1", "RUNWIRE_BACKOFF_JITTER", "less than 1"),
		Entry(nil, "RUNWIRE_BACKOFF_JITTER=-0.1", "RUNWIRE_BACKOFF_JITTER", "at least 0"),
		Entry(nil, "RUNWIRE_PING_INTERVAL=0s", "RUNWIRE_PING_INTERVAL", "greater than 0"),
		Entry(nil, "RUNWIRE_PING_INTERVAL=-1s", "RUNWIRE_PING_INTERVAL", "greater than 0"),
		Entry(nil, "RUNWIRE_HANDSHAKE_TIMEOUT=0s", "RUNWIRE_HANDSHAKE_TIMEOUT", "greater than 0"),
		Entry(nil, "RUNWIRE_SETTINGS_TIMEOUT=0s", "RUNWIRE_SETTINGS_TIMEOUT", "greater than 0"),
		Entry(nil, "RUNWIRE_PYTHON_PREFORK=0", "RUNWIRE_PYTHON_PREFORK", "at least 1"),
		Entry(nil, "RUNWIRE_PYTHON_MEMORY_BYTES=-1", "RUNWIRE_PYTHON_MEMORY_BYTES", "0 (no cap) or more"),
		Entry(nil, "RUNWIRE_PYTHON_TMP_BYTES=4096", "RUNWIRE_PYTHON_TMP_BYTES", "at least 1048576 (1 MiB), got 4096"),
		Entry(nil, "RUNWIRE_PYTHON_NETWORK=open", "RUNWIRE_PYTHON_NETWORK", "deny or allow"),
		Entry(nil, "RUNWIRE_UNAVAILABLE=queue", "RUNWIRE_UNAVAILABLE", "fail or withdraw"),
		Entry(nil, "RUNWIRE_PYTHON_WALLS=off", "RUNWIRE_PYTHON_WALLS", "require or best-effort"),
		Entry(nil, "RUNWIRE_PYTHON_PRELOAD=pandas,beautifulsoup4>=4", "RUNWIRE_PYTHON_PRELOAD", `got "beautifulsoup4>=4"; list dotted module names`),
		Entry(nil, "RUNWIRE_PYTHON_PRELOAD=xml..etree", "RUNWIRE_PYTHON_PRELOAD", `got "xml..etree"`),
	)

	DescribeTable("accepts the boundaries",
		func(env string) { mustLoad(nil, withToken(env)) },
		Entry(nil, "N8N_RUNNERS_MAX_CONCURRENCY=1"),
		Entry(nil, "N8N_RUNNERS_MAX_PAYLOAD=1"),
		Entry(nil, "N8N_RUNNERS_MAX_PAYLOAD=4294967295"),
		Entry(nil, "N8N_RUNNERS_TASK_TIMEOUT=1"),
		Entry(nil, "N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT=0"),
		Entry(nil, "N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT=1"),
		Entry(nil, "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=0"),
		Entry(nil, "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=65535"),
		Entry(nil, "N8N_RUNNERS_STDLIB_ALLOW=*"),
		Entry(nil, "N8N_RUNNERS_EXTERNAL_ALLOW=*,*"), // a repeat of "*" is still "*" alone
		Entry(nil, "RUNWIRE_BACKOFF_MAX=1s"),         // equal to the initial wait
		Entry(nil, "RUNWIRE_BACKOFF_MULTIPLIER=1"),
		Entry(nil, "RUNWIRE_BACKOFF_JITTER=0"),
		Entry(nil, "RUNWIRE_BACKOFF_JITTER=0.99"),
		Entry(nil, "N8N_RUNNERS_TASK_BROKER_URI=https://n8n.example/base/path"),
		Entry(nil, "N8N_RUNNERS_TASK_BROKER_URI=wss://n8n.example"),
	)

	It("reports every problem at once in one joined error", func() {
		_, err := config.Load([]string{"--max-concurrency=0"}, []string{
			"N8N_RUNNERS_TASK_TIMEOUT=abc",
			"N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=70000",
			"N8N_RUNNERS_TASK_BROKER_URI=ftp://x",
			"RUNWIRE_BACKOFF_JITTER=2",
			"N8N_RUNNERS_STDLIB_ALLOW=*,json",
		})
		Expect(err).To(HaveOccurred())
		ps := problems(err)
		Expect(ps).To(HaveLen(7))
		for _, p := range ps {
			Expect(errors.Is(p, config.ErrInvalid)).To(BeTrue(), "%v", p)
		}
		Expect(errors.Is(err, config.ErrInvalid)).To(BeTrue())
		msg := err.Error()
		for _, name := range []string{
			"N8N_RUNNERS_TASK_TIMEOUT", "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", "N8N_RUNNERS_TASK_BROKER_URI",
			"RUNWIRE_BACKOFF_JITTER", "N8N_RUNNERS_STDLIB_ALLOW", "N8N_RUNNERS_MAX_CONCURRENCY", "no broker credentials",
		} {
			Expect(msg).To(ContainSubstring(name))
		}
	})

	It("names the flag or the file key when the bad value did not come from the variable", func() {
		err := loadErr([]string{"--max-concurrency=0"}, withToken())
		Expect(err.Error()).To(ContainSubstring("N8N_RUNNERS_MAX_CONCURRENCY"))
		Expect(err.Error()).To(ContainSubstring("(set by --max-concurrency)"))

		p := writeFile("bad.yaml", "health_check:\n  port: 70000\n")
		err = loadErr([]string{"--config", p}, withToken())
		Expect(err.Error()).To(ContainSubstring("N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT: Port must be between 0 and 65535, got 70000"))
		Expect(err.Error()).To(ContainSubstring("(set by health_check.port in " + p + ")"))
	})

	It("validates after layering, so a later layer can fix an earlier one", func() {
		p := writeFile("bad.yaml", "max_concurrency: 0\n")
		cfg := mustLoad([]string{"--config", p}, withToken("N8N_RUNNERS_MAX_CONCURRENCY=2"))
		Expect(cfg.MaxConcurrency).To(Equal(2))
	})

	It("returns the zero Config with an error", func() {
		cfg, err := config.Load(nil, nil)
		Expect(err).To(HaveOccurred())
		Expect(cfg).To(BeZero())
	})
})
