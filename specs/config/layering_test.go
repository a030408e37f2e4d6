package config_test

import (
	"errors"
	"io/fs"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("Layering: defaults < file < environment < flags", func() {
	var file string

	BeforeEach(func() {
		file = writeFile("runwire.yaml", "max_concurrency: 2\nhealth_check:\n  port: 6002\n  enabled: true\n")
	})

	DescribeTable("the highest layer that sets a value wins",
		func(args []string, env []string, want int) {
			cfg := mustLoad(append([]string{"--config", file}, args...), withToken(env...))
			Expect(cfg.MaxConcurrency).To(Equal(want))
		},
		Entry("file over default", nil, nil, 2),
		Entry("environment over file", nil, []string{"N8N_RUNNERS_MAX_CONCURRENCY=3"}, 3),
		Entry("flag over environment", []string{"--max-concurrency=4"}, []string{"N8N_RUNNERS_MAX_CONCURRENCY=3"}, 4),
		Entry("flag over file", []string{"--max-concurrency", "4"}, nil, 4),
	)

	It("uses the default when no layer sets a value", func() {
		cfg := mustLoad(nil, withToken())
		Expect(cfg.MaxConcurrency).To(Equal(5))
	})

	It("does not let a flag's default override the environment or the file", func() {
		cfg := mustLoad([]string{"--config", file, "--log-level", "debug"},
			withToken("N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=7003"))
		Expect(cfg.HealthCheck.Port).To(Equal(7003), "from the environment, not --health-check-port's default 5681")
		Expect(cfg.MaxConcurrency).To(Equal(2), "from the file, not --max-concurrency's default 5")
		Expect(cfg.HealthCheck.Enabled).To(BeTrue(), "from the file, not --health-check's default false")
		Expect(cfg.Log.Level).To(Equal("DEBUG"))
	})

	It("lets a bool flag switch a setting off as well as on", func() {
		cfg := mustLoad([]string{"--config", file, "--health-check=false"}, withToken())
		Expect(cfg.HealthCheck.Enabled).To(BeFalse())

		cfg = mustLoad([]string{"--health-check"}, withToken("N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED=false"))
		Expect(cfg.HealthCheck.Enabled).To(BeTrue())
	})

	DescribeTable("every flag overrides its environment variable",
		func(flagArg, env string, get field, want any) {
			cfg := mustLoad([]string{flagArg}, withToken(env))
			Expect(get(cfg)).To(Equal(want))
		},
		Entry(nil, "--broker-uri=https://flag.example", "N8N_RUNNERS_TASK_BROKER_URI=https://env.example", brokerURI, "https://flag.example"),
		Entry(nil, "--max-concurrency=8", "N8N_RUNNERS_MAX_CONCURRENCY=3", maxConcurrency, 8),
		Entry(nil, "--log-level=error", "N8N_RUNNERS_LAUNCHER_LOG_LEVEL=debug", logLevel, "ERROR"),
		Entry(nil, "--log-format=json", "RUNWIRE_LOG_FORMAT=text", logFormat, "json"),
		Entry(nil, "--health-check", "N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED=false", healthEnabled, true),
		Entry(nil, "--health-check-host=0.0.0.0", "N8N_RUNNERS_HEALTH_CHECK_SERVER_HOST=127.0.0.2", healthHost, "0.0.0.0"),
		Entry(nil, "--health-check-port=9000", "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=9001", healthPort, 9000),
	)

	Describe("choosing the config file", func() {
		It("reads RUNWIRE_CONFIG and records the path in File", func() {
			cfg := mustLoad(nil, withToken("RUNWIRE_CONFIG="+file))
			Expect(cfg.MaxConcurrency).To(Equal(2))
			Expect(cfg.File).To(Equal(file))
		})

		It("prefers --config over RUNWIRE_CONFIG", func() {
			other := writeFile("other.yaml", "max_concurrency: 9\n")
			cfg := mustLoad([]string{"--config=" + other}, withToken("RUNWIRE_CONFIG="+file))
			Expect(cfg.MaxConcurrency).To(Equal(9))
			Expect(cfg.File).To(Equal(other))
		})

		It("lets --config= switch a RUNWIRE_CONFIG file off", func() {
			cfg := mustLoad([]string{"--config="}, withToken("RUNWIRE_CONFIG="+file))
			Expect(cfg.MaxConcurrency).To(Equal(5))
			Expect(cfg.File).To(BeEmpty())
		})

		It("reports a missing explicit file, naming it", func() {
			missing := filepath.Join(GinkgoT().TempDir(), "missing.yaml")
			for _, load := range []func() error{
				func() error { return loadErr([]string{"--config", missing}, withToken()) },
				func() error { return loadErr(nil, withToken("RUNWIRE_CONFIG="+missing)) },
			} {
				err := load()
				Expect(err.Error()).To(ContainSubstring("failed to read config file " + missing))
				Expect(errors.Is(err, fs.ErrNotExist)).To(BeTrue())
			}
		})

		It("ignores RUNWIRE_CONFIG_FILE with a warning rather than reading a path out of it", func() {
			cfg := mustLoad(nil, withToken("RUNWIRE_CONFIG_FILE="+file))
			Expect(cfg.File).To(BeEmpty())
			Expect(cfg.MaxConcurrency).To(Equal(5))
			Expect(cfg.Warnings).To(ConsistOf(ContainSubstring("RUNWIRE_CONFIG_FILE is ignored")))
		})
	})
})
