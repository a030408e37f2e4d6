package config_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/config"
)

// field picks one setting out of a Config, so a table entry can name what it
// checks. Secrets are revealed so a failure message shows the difference.
type field func(config.Config) any

var (
	brokerURI        field = func(c config.Config) any { return c.BrokerURI }
	grantTok         field = func(c config.Config) any { return c.GrantToken.Reveal() }
	authTok          field = func(c config.Config) any { return c.AuthToken.Reveal() }
	runnerID         field = func(c config.Config) any { return c.RunnerID }
	maxConcurrency   field = func(c config.Config) any { return c.MaxConcurrency }
	maxPayload       field = func(c config.Config) any { return c.MaxPayload }
	taskTimeout      field = func(c config.Config) any { return c.TaskTimeout }
	autoShutdown     field = func(c config.Config) any { return c.AutoShutdownTimeout }
	gracefulShutdown field = func(c config.Config) any { return c.GracefulShutdownTimeout }
	healthEnabled    field = func(c config.Config) any { return c.HealthCheck.Enabled }
	healthHost       field = func(c config.Config) any { return c.HealthCheck.Host }
	healthPort       field = func(c config.Config) any { return c.HealthCheck.Port }
	metrics          field = func(c config.Config) any { return c.HealthCheck.Metrics }
	logLevel         field = func(c config.Config) any { return c.Log.Level }
	logFormat        field = func(c config.Config) any { return c.Log.Format }
	stdlibAllow      field = func(c config.Config) any { return c.Sandbox.StdlibAllow }
	externalAllow    field = func(c config.Config) any { return c.Sandbox.ExternalAllow }
	builtinsDeny     field = func(c config.Config) any { return c.Sandbox.BuiltinsDeny }
	blockEnvAccess   field = func(c config.Config) any { return c.Sandbox.BlockEnvAccess }
	transitive       field = func(c config.Config) any { return c.Sandbox.AllowTransitiveImports }
	envAllow         field = func(c config.Config) any { return c.Sandbox.EnvAllow }
	backoffInitial   field = func(c config.Config) any { return c.Backoff.Initial }
	backoffMax       field = func(c config.Config) any { return c.Backoff.Max }
	backoffMult      field = func(c config.Config) any { return c.Backoff.Multiplier }
	backoffJitter    field = func(c config.Config) any { return c.Backoff.Jitter }
	pingInterval     field = func(c config.Config) any { return c.PingInterval }
	handshake        field = func(c config.Config) any { return c.HandshakeTimeout }
	settingsWait     field = func(c config.Config) any { return c.SettingsTimeout }
	python           field = func(c config.Config) any { return c.Python }
)

var _ = Describe("Environment variables", func() {
	DescribeTable("each variable sets its setting, in n8n's format for N8N_* variables",
		func(name, value string, get field, want any) {
			// An entry equal to the default could not fail, so refuse it.
			Expect(get(config.Default())).NotTo(Equal(want), "the expected value must differ from the default")

			cfg := mustLoad(nil, withToken(name+"="+value))
			Expect(get(cfg)).To(Equal(want))
		},
		Entry(nil, "N8N_RUNNERS_TASK_BROKER_URI", "https://n8n.example:8443", brokerURI, "https://n8n.example:8443"),
		Entry(nil, "N8N_RUNNERS_TASK_BROKER_URI", "ws://[::1]:5679/", brokerURI, "ws://[::1]:5679/"),
		Entry(nil, "N8N_RUNNERS_GRANT_TOKEN", grantToken, grantTok, grantToken),
		Entry(nil, "N8N_RUNNERS_AUTH_TOKEN", "  other token  ", authTok, "  other token  "), // kept exactly
		Entry(nil, "N8N_RUNNERS_MAX_CONCURRENCY", "12", maxConcurrency, 12),
		Entry("N8N_RUNNERS_ID, as n8n 2.35+ assigns it", "N8N_RUNNERS_ID", " abc ", runnerID, "abc"),
		Entry(nil, "N8N_RUNNERS_MAX_CONCURRENCY", " 7 ", maxConcurrency, 7),
		Entry(nil, "N8N_RUNNERS_MAX_PAYLOAD", "2048", maxPayload, int64(2048)),
		Entry(nil, "N8N_RUNNERS_MAX_PAYLOAD", "4294967295", maxPayload, int64(4294967295)),
		Entry(nil, "N8N_RUNNERS_TASK_TIMEOUT", "90", taskTimeout, 90*time.Second),
		Entry(nil, "N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT", "15", autoShutdown, 15*time.Second),
		Entry(nil, "N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT", "3", gracefulShutdown, 3*time.Second),
		Entry(nil, "N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED", "true", healthEnabled, true),
		Entry(nil, "N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED", " TRUE ", healthEnabled, true),
		Entry(nil, "N8N_RUNNERS_HEALTH_CHECK_SERVER_HOST", "0.0.0.0", healthHost, "0.0.0.0"),
		Entry(nil, "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", "5682", healthPort, 5682),
		Entry(nil, "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", "0", healthPort, 0),
		Entry(nil, "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", "65535", healthPort, 65535),
		Entry(nil, "RUNWIRE_METRICS", "false", metrics, false),
		Entry(nil, "RUNWIRE_METRICS", "no", metrics, false),
		Entry(nil, "N8N_RUNNERS_LAUNCHER_LOG_LEVEL", "debug", logLevel, "DEBUG"),
		Entry(nil, "N8N_RUNNERS_LAUNCHER_LOG_LEVEL", "Warn", logLevel, "WARN"),
		Entry(nil, "N8N_RUNNERS_LAUNCHER_LOG_LEVEL", "warning", logLevel, "WARNING"),
		Entry(nil, "N8N_RUNNERS_LAUNCHER_LOG_LEVEL", "error", logLevel, "ERROR"),
		Entry(nil, "N8N_RUNNERS_LAUNCHER_LOG_LEVEL", " critical ", logLevel, "CRITICAL"),
		Entry(nil, "RUNWIRE_LOG_FORMAT", "JSON", logFormat, "json"),
		Entry(nil, "RUNWIRE_LOG_FORMAT", "text", logFormat, "text"),
		Entry(nil, "N8N_RUNNERS_STDLIB_ALLOW", " json, math ,,json,", stdlibAllow, []string{"json", "math"}),
		Entry(nil, "N8N_RUNNERS_STDLIB_ALLOW", "*", stdlibAllow, []string{"*"}),
		Entry(nil, "N8N_RUNNERS_EXTERNAL_ALLOW", "numpy,pandas.core,Numpy", externalAllow, []string{"numpy", "pandas.core", "Numpy"}),
		Entry(nil, "N8N_RUNNERS_BUILTINS_DENY", "eval, exec", builtinsDeny, []string{"eval", "exec"}),
		Entry("N8N_RUNNERS_BUILTINS_DENY set empty denies nothing", "N8N_RUNNERS_BUILTINS_DENY", "", builtinsDeny, []string{}),
		Entry(nil, "N8N_BLOCK_RUNNER_ENV_ACCESS", "false", blockEnvAccess, false),
		Entry("N8N_BLOCK_RUNNER_ENV_ACCESS: anything but true is false", "N8N_BLOCK_RUNNER_ENV_ACCESS", "1", blockEnvAccess, false),
		Entry(nil, "N8N_BLOCK_RUNNER_ENV_ACCESS", "yes", blockEnvAccess, false),
		Entry(nil, "N8N_RUNNERS_ALLOW_TRANSITIVE_IMPORTS", "True", transitive, true),
		Entry(nil, "N8N_RUNNER_ENV_ALLOW", "HOME, LANG,HOME", envAllow, []string{"HOME", "LANG"}),
		Entry(nil, "RUNWIRE_BACKOFF_INITIAL", "500ms", backoffInitial, 500*time.Millisecond),
		Entry(nil, "RUNWIRE_BACKOFF_MAX", "2m", backoffMax, 2*time.Minute),
		Entry(nil, "RUNWIRE_BACKOFF_MULTIPLIER", "2", backoffMult, 2.0),
		Entry(nil, "RUNWIRE_BACKOFF_JITTER", "0", backoffJitter, 0.0),
		Entry(nil, "RUNWIRE_BACKOFF_JITTER", "0.5", backoffJitter, 0.5),
		Entry(nil, "RUNWIRE_PING_INTERVAL", "5s", pingInterval, 5*time.Second),
		Entry(nil, "RUNWIRE_HANDSHAKE_TIMEOUT", "2500ms", handshake, 2500*time.Millisecond),
		Entry(nil, "RUNWIRE_SETTINGS_TIMEOUT", "1500ms", settingsWait, 1500*time.Millisecond),
		Entry(nil, "RUNWIRE_PYTHON", "/opt/py/bin/python3", python, withPython(func(p *config.Python) { p.Interpreter = "/opt/py/bin/python3" })),
		Entry(nil, "RUNWIRE_PYTHON_PREFORK", "4", python, withPython(func(p *config.Python) { p.Prefork = 4 })),
		Entry(nil, "RUNWIRE_PYTHON_MEMORY_BYTES", "536870912", python, withPython(func(p *config.Python) { p.MemoryBytes = 512 << 20 })),
		Entry(nil, "RUNWIRE_PYTHON_CPU_SECONDS", "0", python, withPython(func(p *config.Python) { p.CPUSeconds = 0 })),
		Entry(nil, "RUNWIRE_PYTHON_OPEN_FILES", "32", python, withPython(func(p *config.Python) { p.OpenFiles = 32 })),
		Entry(nil, "RUNWIRE_PYTHON_FILE_SIZE_BYTES", "1024", python, withPython(func(p *config.Python) { p.FileSizeBytes = 1024 })),
		Entry(nil, "RUNWIRE_PYTHON_TMP_BYTES", "10485760", python, withPython(func(p *config.Python) { p.TmpBytes = 10 << 20 })),
		Entry(nil, "RUNWIRE_PYTHON_PROCESSES", "5", python, withPython(func(p *config.Python) { p.Processes = 5 })),
		Entry(nil, "RUNWIRE_PYTHON_NETWORK", "allow", python, withPython(func(p *config.Python) { p.Network = "allow" })),
		Entry(nil, "RUNWIRE_UNAVAILABLE", "withdraw", python, withPython(func(p *config.Python) { p.Unavailable = "withdraw" })),
		Entry(nil, "RUNWIRE_PYTHON_WALLS", "best-effort", python, withPython(func(p *config.Python) { p.Walls = "best-effort" })),
		Entry(nil, "RUNWIRE_PYTHON_PRELOAD", " pandas, xml.etree ,numpy", python, withPython(func(p *config.Python) { p.Preload = []string{"pandas", "xml.etree", "numpy"} })),
	)

	It("reads n8n's bool rule the other way too: only true is true", func() {
		for _, v := range []string{"1", "yes", "on", "t", ""} {
			cfg := mustLoad(nil, withToken("N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED="+v))
			Expect(cfg.HealthCheck.Enabled).To(BeFalse(), "value %q", v)
		}
	})

	DescribeTable("a value that does not parse is an error naming the variable",
		func(name, value, want string) {
			err := loadErr(nil, withToken(name+"="+value))
			Expect(err.Error()).To(ContainSubstring(want))
		},
		Entry(nil, "N8N_RUNNERS_MAX_CONCURRENCY", "abc", "Environment variable N8N_RUNNERS_MAX_CONCURRENCY must be an integer, got 'abc'"),
		Entry(nil, "N8N_RUNNERS_MAX_PAYLOAD", "1GB", "Environment variable N8N_RUNNERS_MAX_PAYLOAD must be an integer, got '1GB'"),
		Entry(nil, "N8N_RUNNERS_TASK_TIMEOUT", "abc", "Environment variable N8N_RUNNERS_TASK_TIMEOUT must be an integer, got 'abc'"),
		Entry("N8N_RUNNERS_TASK_TIMEOUT: a Go duration is not n8n's format", "N8N_RUNNERS_TASK_TIMEOUT", "60s", "Environment variable N8N_RUNNERS_TASK_TIMEOUT must be an integer, got '60s'"),
		Entry(nil, "N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT", "1.5", "Environment variable N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT must be an integer, got '1.5'"),
		Entry(nil, "N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT", "ten", "Environment variable N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT must be an integer, got 'ten'"),
		Entry(nil, "N8N_RUNNERS_TASK_TIMEOUT", "99999999999999", "N8N_RUNNERS_TASK_TIMEOUT must be a number of seconds between"),
		Entry(nil, "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", "http", "Environment variable N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT must be an integer, got 'http'"),
		Entry("RUNWIRE_* durations need a unit", "RUNWIRE_PING_INTERVAL", "5", "Environment variable RUNWIRE_PING_INTERVAL must be a Go duration"),
		Entry(nil, "RUNWIRE_BACKOFF_INITIAL", "soon", "Environment variable RUNWIRE_BACKOFF_INITIAL must be a Go duration"),
		Entry(nil, "RUNWIRE_BACKOFF_MAX", "1 m", "Environment variable RUNWIRE_BACKOFF_MAX must be a Go duration"),
		Entry(nil, "RUNWIRE_HANDSHAKE_TIMEOUT", "10", "Environment variable RUNWIRE_HANDSHAKE_TIMEOUT must be a Go duration"),
		Entry(nil, "RUNWIRE_BACKOFF_MULTIPLIER", "double", "Environment variable RUNWIRE_BACKOFF_MULTIPLIER must be a number, got 'double'"),
		Entry(nil, "RUNWIRE_BACKOFF_JITTER", "20%", "Environment variable RUNWIRE_BACKOFF_JITTER must be a number, got '20%'"),
	)

	It("falls back to INFO with a warning naming the variable for an unknown log level, as n8n does", func() {
		cfg := mustLoad(nil, withToken("N8N_RUNNERS_LAUNCHER_LOG_LEVEL=verbose"))
		Expect(cfg.Log.Level).To(Equal("INFO"))
		Expect(cfg.Warnings).To(ConsistOf(And(
			ContainSubstring(`"verbose"`),
			ContainSubstring("N8N_RUNNERS_LAUNCHER_LOG_LEVEL"),
			ContainSubstring("INFO"),
		)))
	})

	It("treats an empty log level as the default without a warning", func() {
		cfg := mustLoad(nil, withToken("N8N_RUNNERS_LAUNCHER_LOG_LEVEL="))
		Expect(cfg.Log.Level).To(Equal("INFO"))
		Expect(cfg.Warnings).To(BeEmpty())
	})
})

// withPython is the default Python section with one change.
func withPython(change func(p *config.Python)) config.Python {
	p := config.Default().Python
	change(&p)
	return p
}
