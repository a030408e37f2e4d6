package config_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/config"
)

const fullFile = `
broker_uri: wss://broker.example:443
auth_token: ` + token + `
grant_token: ` + grantToken + `
max_concurrency: 3
max_payload: 1048576
task_timeout: 90s
auto_shutdown_timeout: 15s
graceful_shutdown_timeout: 1m
health_check:
  enabled: true
  host: 0.0.0.0
  port: 5682
  metrics: false
log:
  level: debug
  format: json
sandbox:
  stdlib_allow: [json, " math", json]
  external_allow: "numpy, pandas"
  builtins_deny: [eval]
  block_env_access: false
  allow_transitive_imports: true
  env_allow: [HOME]
backoff:
  initial: 250ms
  max: 5s
  multiplier: 2
  jitter: 0.1
ping_interval: 10s
handshake_timeout: 3s
settings_timeout: 4s
python:
  interpreter: /usr/bin/python3.11
  prefork: 3
  memory_bytes: 1073741824
  cpu_seconds: 30
  open_files: 64
  file_size_bytes: 1048576
  tmp_bytes: 2097152
  processes: 8
  network: allow
  unavailable: withdraw
  walls: best-effort
  preload: [pandas, numpy]
`

var _ = Describe("The YAML config file", func() {
	It("sets every setting, with Go durations and nested sections", func() {
		p := writeFile("full.yaml", fullFile)
		cfg := mustLoad([]string{"--config", p}, nil)

		Expect(cfg).To(Equal(config.Config{
			BrokerURI:               "wss://broker.example:443",
			AuthToken:               token,
			GrantToken:              grantToken,
			MaxConcurrency:          3,
			MaxPayload:              1048576,
			TaskTimeout:             90 * time.Second,
			AutoShutdownTimeout:     15 * time.Second,
			GracefulShutdownTimeout: time.Minute,
			HealthCheck:             config.HealthCheck{Enabled: true, Host: "0.0.0.0", Port: 5682, Metrics: false},
			Log:                     config.Log{Level: "DEBUG", Format: "json"},
			Sandbox: config.Sandbox{
				StdlibAllow:            []string{"json", "math"},
				ExternalAllow:          []string{"numpy", "pandas"},
				BuiltinsDeny:           []string{"eval"},
				BlockEnvAccess:         false,
				AllowTransitiveImports: true,
				EnvAllow:               []string{"HOME"},
			},
			Backoff:          config.Backoff{Initial: 250 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2, Jitter: 0.1},
			PingInterval:     10 * time.Second,
			HandshakeTimeout: 3 * time.Second,
			SettingsTimeout:  4 * time.Second,
			Python:           config.Python{Interpreter: "/usr/bin/python3.11", Prefork: 3, MemoryBytes: 1 << 30, CPUSeconds: 30, OpenFiles: 64, FileSizeBytes: 1 << 20, TmpBytes: 2 << 20, Processes: 8, Network: "allow", Unavailable: "withdraw", Walls: "best-effort", Preload: []string{"pandas", "numpy"}},
			File:             p,
		}))
	})

	It("may be empty", func() {
		p := writeFile("empty.yaml", "")
		cfg := mustLoad([]string{"--config", p}, withToken())
		Expect(cfg.File).To(Equal(p))
		Expect(cfg.MaxConcurrency).To(Equal(5))
	})

	It("treats a key with no value as unset", func() {
		p := writeFile("nulls.yaml", "max_concurrency:\nhealth_check:\n")
		cfg := mustLoad([]string{"--config", p}, withToken())
		Expect(cfg.MaxConcurrency).To(Equal(5))
		Expect(cfg.HealthCheck.Port).To(Equal(5681))
	})

	It("accepts empty sections and an empty list that overrides a default list", func() {
		p := writeFile("empty-parts.yaml", "health_check: {}\nbackoff:\nsandbox:\n  builtins_deny: []\n")
		cfg := mustLoad([]string{"--config", p}, withToken())
		Expect(cfg.HealthCheck.Port).To(Equal(5681))
		Expect(cfg.Sandbox.BuiltinsDeny).To(BeEmpty())
	})

	It("rejects an unknown key, naming the key and the file, and suggests the likely one", func() {
		p := writeFile("typo.yaml", "max_concurency: 3\n")
		err := loadErr([]string{"--config", p}, withToken())
		Expect(err.Error()).To(ContainSubstring(`unknown key "max_concurency"`))
		Expect(err.Error()).To(ContainSubstring(p))
		Expect(err.Error()).To(ContainSubstring(`did you mean "max_concurrency"`))
	})

	It("rejects unknown nested keys and reports every one", func() {
		p := writeFile("typos.yaml", "health_check:\n  prot: 1\nbackof:\n  max: 1s\nlog:\n  colour: true\n")
		err := loadErr([]string{"--config", p}, withToken())
		Expect(problems(err)).To(HaveLen(3))
		Expect(err.Error()).To(ContainSubstring(`unknown key "health_check.prot"`))
		Expect(err.Error()).To(ContainSubstring(`unknown key "backof.max"`))
		Expect(err.Error()).To(ContainSubstring(`unknown key "log.colour"`))
	})

	It("rejects a section given as a plain value", func() {
		p := writeFile("section.yaml", "backoff: 5s\n")
		err := loadErr([]string{"--config", p}, withToken())
		Expect(err.Error()).To(ContainSubstring("backoff must be a mapping"))
		Expect(err.Error()).To(ContainSubstring(p))
	})

	It("refuses a bare number for a duration rather than reading nanoseconds", func() {
		p := writeFile("bare.yaml", "task_timeout: 60\n")
		err := loadErr([]string{"--config", p}, withToken())
		Expect(err.Error()).To(ContainSubstring("task_timeout"))
		Expect(err.Error()).To(ContainSubstring("Go duration"))
		Expect(err.Error()).To(ContainSubstring(p))
	})

	It("accepts a bare 0 for a duration, which is unambiguous", func() {
		p := writeFile("zero.yaml", "auto_shutdown_timeout: 0\n")
		cfg := mustLoad([]string{"--config", p}, withToken("N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT=30"))
		Expect(cfg.AutoShutdownTimeout).To(Equal(30*time.Second), "the environment still wins")
		cfg = mustLoad([]string{"--config", p}, withToken())
		Expect(cfg.AutoShutdownTimeout).To(BeZero())
	})

	It("reports a value of the wrong type, naming key and file, and still validates the rest", func() {
		p := writeFile("types.yaml", "max_concurrency: lots\nhealth_check:\n  port: http\nping_interval: 0s\n")
		err := loadErr([]string{"--config", p}, withToken())
		Expect(err.Error()).To(ContainSubstring("max_concurrency"))
		Expect(err.Error()).To(ContainSubstring("health_check.port"))
		Expect(err.Error()).To(ContainSubstring("RUNWIRE_PING_INTERVAL must be greater than 0"))
		Expect(problems(err)).To(HaveLen(3))
	})

	It("reports YAML that does not parse, naming the file", func() {
		p := writeFile("broken.yaml", "broker_uri: [unclosed\n")
		err := loadErr([]string{"--config", p}, withToken())
		Expect(err.Error()).To(ContainSubstring("failed to read config file " + p))
	})

	It("reports a file whose top level is not a mapping", func() {
		p := writeFile("list.yaml", "- a\n- b\n")
		err := loadErr([]string{"--config", p}, withToken())
		Expect(err.Error()).To(ContainSubstring("the top level must be a mapping"))
	})
})
