package config

// kind says how a setting's environment value is parsed. n8n's variables keep
// n8n's formats (integer seconds, n8n's bool rule, comma lists) so a runwire
// binary can take an n8n runner's environment unchanged; runwire's own
// variables use Go durations.
type kind int

const (
	kindString   kind = iota // text, surrounding whitespace trimmed
	kindSecret               // text, kept exactly as given
	kindInt                  // base-10 integer
	kindSeconds              // base-10 integer number of seconds
	kindBool                 // "true" in any case after trimming; anything else is false
	kindList                 // comma list: split, trim, drop empties, dedupe
	kindDuration             // Go duration such as 500ms or 2s
	kindFloat                // decimal number
)

// setting ties one config-file key to its environment variable and, for the
// few settings worth a flag, to its flag. This table is the allow-list of
// variables Load reads (nothing is derived by replacing "_" with ".", which
// breaks on keys that contain underscores) and the list Describe and Usage
// print, so the three cannot drift apart.
type setting struct {
	key   string // koanf key, "." between levels; also the YAML path
	env   string // environment variable; <env>_FILE is accepted too
	flag  string // flag name without dashes, "" if none
	kind  kind
	usage string // what the setting does, one short line
}

// settings lists every setting in Config order.
var settings = []setting{
	{"broker_uri", "N8N_RUNNERS_TASK_BROKER_URI", "broker-uri", kindString, "task broker base URL (http, https, ws or wss)"},
	{"grant_token", "N8N_RUNNERS_GRANT_TOKEN", "", kindSecret, "single-use grant token"},
	{"auth_token", "N8N_RUNNERS_AUTH_TOKEN", "", kindSecret, "broker auth token; a fresh grant token is fetched per connection"},
	{"runner_id", "N8N_RUNNERS_ID", "", kindString, "the id runwire registers with; default a random one per process"},
	{"max_concurrency", "N8N_RUNNERS_MAX_CONCURRENCY", "max-concurrency", kindInt, "tasks run at once (>= 1)"},
	{"max_payload", "N8N_RUNNERS_MAX_PAYLOAD", "", kindInt, "largest broker message in bytes (1..4294967295)"},
	{"task_timeout", "N8N_RUNNERS_TASK_TIMEOUT", "", kindSeconds, "time limit per task (> 0)"},
	{"auto_shutdown_timeout", "N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT", "", kindSeconds, "exit after this long idle; 0 = never"},
	{"graceful_shutdown_timeout", "N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT", "", kindSeconds, "time running tasks get to finish on shutdown (> 0)"},
	{"health_check.enabled", "N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED", "health-check", kindBool, "serve the health-check endpoint"},
	{"health_check.host", "N8N_RUNNERS_HEALTH_CHECK_SERVER_HOST", "health-check-host", kindString, "health-check listen host"},
	{"health_check.port", "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT", "health-check-port", kindInt, "health-check listen port (0..65535)"},
	{"health_check.metrics", "RUNWIRE_METRICS", "", kindBool, "Prometheus metrics at /metrics on the health-check server (default true)"},
	{"log.level", "N8N_RUNNERS_LAUNCHER_LOG_LEVEL", "log-level", kindString, "DEBUG, INFO, WARN(ING), ERROR or CRITICAL"},
	{"log.format", "RUNWIRE_LOG_FORMAT", "log-format", kindString, "auto, text or json"},
	{"sandbox.stdlib_allow", "N8N_RUNNERS_STDLIB_ALLOW", "", kindList, "importable stdlib modules; * = all"},
	{"sandbox.external_allow", "N8N_RUNNERS_EXTERNAL_ALLOW", "", kindList, "importable external packages; * = all"},
	{"sandbox.builtins_deny", "N8N_RUNNERS_BUILTINS_DENY", "", kindList, "builtins removed from user code"},
	{"sandbox.block_env_access", "N8N_BLOCK_RUNNER_ENV_ACCESS", "", kindBool, "hide the environment from user code"},
	{"sandbox.allow_transitive_imports", "N8N_RUNNERS_ALLOW_TRANSITIVE_IMPORTS", "", kindBool, "let allowed packages import their own dependencies"},
	{"sandbox.env_allow", "N8N_RUNNER_ENV_ALLOW", "", kindList, "variables user code may still see"},
	{"backoff.initial", "RUNWIRE_BACKOFF_INITIAL", "", kindDuration, "first reconnect wait (> 0)"},
	{"backoff.max", "RUNWIRE_BACKOFF_MAX", "", kindDuration, "longest reconnect wait (>= initial)"},
	{"backoff.multiplier", "RUNWIRE_BACKOFF_MULTIPLIER", "", kindFloat, "growth per failed attempt (>= 1)"},
	{"backoff.jitter", "RUNWIRE_BACKOFF_JITTER", "", kindFloat, "random spread of each wait, in [0, 1)"},
	{"python.interpreter", "RUNWIRE_PYTHON", "", kindString, "Python interpreter for tasks; default python3 on PATH"},
	{"python.prefork", "RUNWIRE_PYTHON_PREFORK", "", kindInt, "task processes kept forked and waiting (>= 1)"},
	{"python.memory_bytes", "RUNWIRE_PYTHON_MEMORY_BYTES", "", kindInt, "address-space cap per task process in bytes; 0 = none"},
	{"python.cpu_seconds", "RUNWIRE_PYTHON_CPU_SECONDS", "", kindInt, "CPU-time cap per task process in seconds; 0 = none"},
	{"python.open_files", "RUNWIRE_PYTHON_OPEN_FILES", "", kindInt, "open-file cap per task process; 0 = none"},
	{"python.file_size_bytes", "RUNWIRE_PYTHON_FILE_SIZE_BYTES", "", kindInt, "largest file a task may write in bytes; 0 = none"},
	{"python.tmp_bytes", "RUNWIRE_PYTHON_TMP_BYTES", "", kindInt, "size of a task's private tmpfs temp dir in bytes (inodes: one per KiB), where tasks have mount namespaces"},
	{"python.processes", "RUNWIRE_PYTHON_PROCESSES", "", kindInt, "new processes a task may start; 0 = no cap"},
	{"python.network", "RUNWIRE_PYTHON_NETWORK", "", kindString, "deny (default: tasks get no network) or allow"},
	{"python.unavailable", "RUNWIRE_UNAVAILABLE", "", kindString, "while Python cannot run tasks: fail (default: offer, answer each at once with the reason) or withdraw (stop offering)"},
	{"python.walls", "RUNWIRE_PYTHON_WALLS", "", kindString, "require (default: no Python task without every expected wall) or best-effort"},
	{"python.preload", "RUNWIRE_PYTHON_PRELOAD", "", kindList, "modules the zygote imports before it forks, besides N8N_RUNNERS_EXTERNAL_ALLOW's (comma list)"},
	{"ping_interval", "RUNWIRE_PING_INTERVAL", "", kindDuration, "broker ping period; one missed pong = connection lost (> 0)"},
	{"handshake_timeout", "RUNWIRE_HANDSHAKE_TIMEOUT", "", kindDuration, "dial start to broker:inforequest (> 0)"},
	{"settings_timeout", "RUNWIRE_SETTINGS_TIMEOUT", "", kindDuration, "accepting a task to receiving its settings; then it is dropped (> 0)"},
}

// configEnv and configFlag name the optional YAML config file. They are not
// settings: they choose where settings come from.
const (
	configEnv  = "RUNWIRE_CONFIG"
	configFlag = "config"
)

// settingByKey finds a setting by its koanf key.
func settingByKey(key string) (setting, bool) {
	for _, s := range settings {
		if s.key == key {
			return s, true
		}
	}
	return setting{}, false
}

// envOf returns the environment variable behind key, for messages.
func envOf(key string) string {
	s, _ := settingByKey(key)
	return s.env
}
