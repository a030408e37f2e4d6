package config_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/config"
)

var _ = Describe("<NAME>_FILE variables", func() {
	It("read a secret from the file and trim surrounding whitespace", func() {
		p := writeFile("auth", "\n  "+token+"  \n")
		cfg := mustLoad(nil, []string{"N8N_RUNNERS_AUTH_TOKEN_FILE=" + p})
		Expect(cfg.AuthToken.Reveal()).To(Equal(token))
	})

	It("work for the grant token too", func() {
		p := writeFile("grant", grantToken+"\n")
		cfg := mustLoad(nil, []string{"N8N_RUNNERS_GRANT_TOKEN_FILE=" + p})
		Expect(cfg.GrantToken.Reveal()).To(Equal(grantToken))
		Expect(cfg.AuthToken.IsSet()).To(BeFalse())
	})

	DescribeTable("work for every variable, parsed like the plain one",
		func(name, content string, get field, want any) {
			Expect(get(config.Default())).NotTo(Equal(want), "the expected value must differ from the default")
			p := writeFile("value", content)
			cfg := mustLoad(nil, withToken(name+"_FILE="+p))
			Expect(get(cfg)).To(Equal(want))
		},
		Entry(nil, "N8N_RUNNERS_TASK_BROKER_URI", "https://broker.internal\n", brokerURI, "https://broker.internal"),
		Entry(nil, "N8N_RUNNERS_ID", "runner-7\n", runnerID, "runner-7"),
		Entry(nil, "N8N_RUNNERS_MAX_CONCURRENCY", "9\n", maxConcurrency, 9),
		Entry(nil, "N8N_RUNNER_ENV_ALLOW", "HOME,LANG\n", envAllow, []string{"HOME", "LANG"}),
		Entry(nil, "N8N_RUNNERS_ALLOW_TRANSITIVE_IMPORTS", "true\n", transitive, true),
		Entry(nil, "N8N_RUNNERS_TASK_TIMEOUT", " 120 ", taskTimeout, 120*time.Second),
		Entry(nil, "N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED", "true\n", healthEnabled, true),
		Entry(nil, "N8N_RUNNERS_STDLIB_ALLOW", "json,math\n", stdlibAllow, []string{"json", "math"}),
		Entry(nil, "N8N_RUNNERS_LAUNCHER_LOG_LEVEL", "debug\n", logLevel, "DEBUG"),
		Entry(nil, "RUNWIRE_PING_INTERVAL", "1s\n", pingInterval, time.Second),
	)

	It("lose to the plain variable when both are set", func() {
		p := writeFile("auth", "from-file")
		cfg := mustLoad(nil, []string{"N8N_RUNNERS_AUTH_TOKEN=" + token, "N8N_RUNNERS_AUTH_TOKEN_FILE=" + p})
		Expect(cfg.AuthToken.Reveal()).To(Equal(token))
	})

	It("lose to a plain variable that is set but empty", func() {
		p := writeFile("grant", grantToken)
		cfg := mustLoad(nil, withToken("N8N_RUNNERS_GRANT_TOKEN=", "N8N_RUNNERS_GRANT_TOKEN_FILE="+p))
		Expect(cfg.GrantToken.IsSet()).To(BeFalse())

		p = writeFile("max", "9")
		cfg = mustLoad(nil, withToken("N8N_RUNNERS_STDLIB_ALLOW=", "N8N_RUNNERS_STDLIB_ALLOW_FILE="+p))
		Expect(cfg.Sandbox.StdlibAllow).To(BeEmpty())
	})

	It("so an empty plain token with a token file leaves no credentials", func() {
		p := writeFile("auth", token)
		err := loadErr(nil, []string{"N8N_RUNNERS_AUTH_TOKEN=", "N8N_RUNNERS_AUTH_TOKEN_FILE=" + p})
		Expect(err.Error()).To(ContainSubstring("no broker credentials"))
	})

	It("report an unreadable file, naming the variable and the path", func() {
		missing := filepath.Join(GinkgoT().TempDir(), "does-not-exist")
		err := loadErr(nil, withToken("N8N_RUNNERS_GRANT_TOKEN_FILE="+missing))
		Expect(err.Error()).To(ContainSubstring("failed to read N8N_RUNNERS_GRANT_TOKEN_FILE from file " + missing + ": "))
		Expect(errors.Is(err, fs.ErrNotExist)).To(BeTrue(), "the cause stays reachable")
	})

	It("report a directory given as the file", func() {
		dir := GinkgoT().TempDir()
		err := loadErr(nil, []string{"N8N_RUNNERS_AUTH_TOKEN_FILE=" + dir})
		Expect(err.Error()).To(ContainSubstring("failed to read N8N_RUNNERS_AUTH_TOKEN_FILE from file " + dir))
	})

	It("report a value that does not parse, naming the _FILE variable", func() {
		p := writeFile("timeout", "abc")
		err := loadErr(nil, withToken("N8N_RUNNERS_TASK_TIMEOUT_FILE="+p))
		Expect(err.Error()).To(ContainSubstring("Environment variable N8N_RUNNERS_TASK_TIMEOUT must be an integer"))
		Expect(err.Error()).To(ContainSubstring("N8N_RUNNERS_TASK_TIMEOUT_FILE"))
	})

	It("refuse a file too large to be a value, rather than reading it all", func() {
		p := writeFile("huge", strings.Repeat("x", 1<<20+1))
		err := loadErr(nil, withToken("N8N_RUNNERS_GRANT_TOKEN_FILE="+p))
		Expect(err.Error()).To(ContainSubstring("failed to read N8N_RUNNERS_GRANT_TOKEN_FILE from file " + p))
		Expect(err.Error()).To(ContainSubstring("larger than"))
	})

	It("ignore an empty _FILE variable", func() {
		cfg := mustLoad(nil, withToken("N8N_RUNNERS_GRANT_TOKEN_FILE="))
		Expect(cfg.GrantToken.IsSet()).To(BeFalse())
	})
})
