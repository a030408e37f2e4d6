package config_test

import (
	"reflect"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/config"
)

// allVariables is every variable the protocol doc and the brief list.
var allVariables = []string{
	"N8N_RUNNERS_TASK_BROKER_URI", "N8N_RUNNERS_GRANT_TOKEN", "N8N_RUNNERS_AUTH_TOKEN", "N8N_RUNNERS_ID",
	"N8N_RUNNERS_MAX_CONCURRENCY", "N8N_RUNNERS_MAX_PAYLOAD", "N8N_RUNNERS_TASK_TIMEOUT",
	"N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT", "N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT",
	"N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED", "N8N_RUNNERS_HEALTH_CHECK_SERVER_HOST",
	"N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", "N8N_RUNNERS_LAUNCHER_LOG_LEVEL", "RUNWIRE_LOG_FORMAT",
	"N8N_RUNNERS_STDLIB_ALLOW", "N8N_RUNNERS_EXTERNAL_ALLOW", "N8N_RUNNERS_BUILTINS_DENY",
	"N8N_BLOCK_RUNNER_ENV_ACCESS", "N8N_RUNNERS_ALLOW_TRANSITIVE_IMPORTS", "N8N_RUNNER_ENV_ALLOW",
	"RUNWIRE_BACKOFF_INITIAL", "RUNWIRE_BACKOFF_MAX", "RUNWIRE_BACKOFF_MULTIPLIER", "RUNWIRE_BACKOFF_JITTER",
	"RUNWIRE_PING_INTERVAL", "RUNWIRE_HANDSHAKE_TIMEOUT", "RUNWIRE_SETTINGS_TIMEOUT",
	"RUNWIRE_PYTHON", "RUNWIRE_PYTHON_PREFORK", "RUNWIRE_PYTHON_MEMORY_BYTES", "RUNWIRE_PYTHON_CPU_SECONDS",
	"RUNWIRE_PYTHON_OPEN_FILES", "RUNWIRE_PYTHON_FILE_SIZE_BYTES", "RUNWIRE_PYTHON_TMP_BYTES", "RUNWIRE_PYTHON_PROCESSES", "RUNWIRE_PYTHON_NETWORK",
	"RUNWIRE_UNAVAILABLE", "RUNWIRE_PYTHON_WALLS", "RUNWIRE_PYTHON_PRELOAD", "RUNWIRE_METRICS",
}

// fileKeys walks Config's koanf tags, so a field added without a Describe
// line fails here.
func fileKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		tag := f.Tag.Get("koanf")
		if tag == "" || tag == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == t.PkgPath() {
			keys = append(keys, fileKeys(f.Type, prefix+tag+".")...)
			continue
		}
		keys = append(keys, prefix+tag)
	}
	return keys
}

var _ = Describe("Describe", func() {
	It("prints one line per setting, with the variable that sets it", func() {
		keys := fileKeys(reflect.TypeFor[config.Config](), "")
		Expect(keys).To(HaveLen(len(allVariables)), "every setting has a variable")

		out := mustLoad(nil, withToken()).Describe()
		var settingLines []string
		for l := range strings.Lines(out) {
			if !strings.HasPrefix(l, "#") {
				settingLines = append(settingLines, l)
			}
		}
		Expect(settingLines).To(HaveLen(len(keys)))
		for _, k := range keys {
			Expect(out).To(MatchRegexp(`(?m)^%s: `, regexpQuote(k)), "a line for %s", k)
		}
		for _, v := range allVariables {
			Expect(out).To(MatchRegexp(`(?m)# %s\b`, v), "a line naming %s", v)
		}
	})

	It("shows the effective values, flags and the file", func() {
		p := writeFile("c.yaml", "max_concurrency: 3\n")
		out := mustLoad([]string{"--config", p, "--health-check-port=6000"},
			withToken("N8N_RUNNERS_TASK_TIMEOUT=90", "N8N_RUNNERS_STDLIB_ALLOW=json,math")).Describe()
		Expect(out).To(ContainSubstring("broker_uri: http://127.0.0.1:5679  # N8N_RUNNERS_TASK_BROKER_URI, --broker-uri\n"))
		Expect(out).To(ContainSubstring("max_concurrency: 3  # N8N_RUNNERS_MAX_CONCURRENCY, --max-concurrency\n"))
		Expect(out).To(ContainSubstring("health_check.port: 6000  #"))
		Expect(out).To(ContainSubstring("task_timeout: 90s  # N8N_RUNNERS_TASK_TIMEOUT (env: integer seconds)\n"))
		Expect(out).To(ContainSubstring("sandbox.stdlib_allow: [json, math]  #"))
		Expect(out).To(ContainSubstring("# config file: " + p + "\n"))
	})

	It("shows N8N_RUNNERS_ID, and that it is unset by default (a random id per process)", func() {
		Expect(mustLoad(nil, withToken()).Describe()).To(ContainSubstring("runner_id: \"\"  # N8N_RUNNERS_ID\n"))
		Expect(mustLoad(nil, withToken("N8N_RUNNERS_ID=abc")).Describe()).To(ContainSubstring("runner_id: abc  # N8N_RUNNERS_ID\n"))
	})
})

func regexpQuote(s string) string { return strings.ReplaceAll(s, ".", `\.`) }
