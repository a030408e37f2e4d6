package config

import "time"

// Config is the validated, effective configuration of one runwire process.
//
// Load returns it by value and nothing in runwire changes it afterwards; the
// slices are fresh on every Load, so holding on to one is safe. The koanf tags
// are the keys of the YAML config file.
type Config struct {
	// BrokerURI is the task broker's base URL (http, https, ws or wss). Only
	// scheme, host and port matter; runwire appends the runner path itself.
	BrokerURI string `koanf:"broker_uri"`
	// GrantToken is a single-use token for one WebSocket connection, as n8n
	// passes to the runners it starts itself.
	GrantToken Secret `koanf:"grant_token"`
	// AuthToken is the broker's long-lived auth token, from which runwire
	// fetches a fresh grant token before every connection (external mode).
	// At least one of AuthToken and GrantToken is set in a loaded Config.
	AuthToken Secret `koanf:"auth_token"`
	// RunnerID is the id runwire registers with (the upgrade request's ?id=),
	// as n8n 2.35+ assigns its runners one; "" means a random id per process.
	RunnerID string `koanf:"runner_id"`
	// MaxConcurrency is how many tasks may run at once (>= 1).
	MaxConcurrency int `koanf:"max_concurrency"`
	// MaxPayload is the largest broker message accepted, in bytes
	// (1..4294967295, n8n's limit).
	MaxPayload int64 `koanf:"max_payload"`
	// TaskTimeout bounds one task's run time (> 0).
	TaskTimeout time.Duration `koanf:"task_timeout"`
	// AutoShutdownTimeout stops an idle runner after this long; 0 means never.
	AutoShutdownTimeout time.Duration `koanf:"auto_shutdown_timeout"`
	// GracefulShutdownTimeout is how long running tasks get to finish on
	// SIGTERM/SIGINT before they are cancelled (> 0).
	GracefulShutdownTimeout time.Duration `koanf:"graceful_shutdown_timeout"`
	// HealthCheck configures the optional HTTP health endpoint.
	HealthCheck HealthCheck `koanf:"health_check"`
	// Log configures runwire's own logging.
	Log Log `koanf:"log"`
	// Sandbox carries the rules the Python executor enforces on user code.
	Sandbox Sandbox `koanf:"sandbox"`
	// Backoff shapes the wait between reconnection attempts.
	Backoff Backoff `koanf:"backoff"`
	// Python configures the Python executor's interpreter and per-task limits.
	Python Python `koanf:"python"`
	// PingInterval is how often runwire pings the broker; a pong missing for
	// one whole interval means the connection is lost (> 0).
	PingInterval time.Duration `koanf:"ping_interval"`
	// HandshakeTimeout bounds the time from the start of a dial until
	// broker:inforequest arrives (> 0).
	HandshakeTimeout time.Duration `koanf:"handshake_timeout"`
	// SettingsTimeout bounds the wait between accepting a task and receiving its
	// settings; past it the task is dropped and its slot freed (> 0).
	SettingsTimeout time.Duration `koanf:"settings_timeout"`

	// File is the config file that was loaded, "" if none.
	File string `koanf:"-"`
	// Warnings are non-fatal notes for the caller to log once a logger
	// exists (Load runs before there is one), e.g. an unknown log level that
	// fell back to INFO.
	Warnings []string `koanf:"-"`
}

// HealthCheck configures the health-check HTTP server n8n's launcher polls.
type HealthCheck struct {
	// Enabled starts the server.
	Enabled bool `koanf:"enabled"`
	// Host is the listen address; the default keeps it on loopback.
	Host string `koanf:"host"`
	// Port is the listen port, 0..65535 (0 picks a free port).
	Port int `koanf:"port"`
	// Metrics serves Prometheus metrics at /metrics on the same server (RUNWIRE_METRICS).
	Metrics bool `koanf:"metrics"`
}

// Log configures logging.
type Log struct {
	// Level is one of DEBUG, INFO, WARN, WARNING, ERROR, CRITICAL (always
	// upper case). An unknown name becomes INFO with a Warning, as in n8n.
	Level string `koanf:"level"`
	// Format is "auto" (text on a terminal, JSON otherwise), "text" or "json".
	Format string `koanf:"format"`
}

// Sandbox carries n8n's Python sandbox settings, with n8n's meanings.
type Sandbox struct {
	// StdlibAllow lists importable standard-library modules; ["*"] allows
	// all of them, empty allows none.
	StdlibAllow []string `koanf:"stdlib_allow"`
	// ExternalAllow lists importable third-party packages, like StdlibAllow.
	ExternalAllow []string `koanf:"external_allow"`
	// BuiltinsDeny lists builtins removed from user code's namespace.
	BuiltinsDeny []string `koanf:"builtins_deny"`
	// BlockEnvAccess clears the environment of the process running user code.
	BlockEnvAccess bool `koanf:"block_env_access"`
	// AllowTransitiveImports lets allow-listed packages import what they need
	// while user code stays bound by the allowlists.
	AllowTransitiveImports bool `koanf:"allow_transitive_imports"`
	// EnvAllow names variables kept in user code's environment even when
	// BlockEnvAccess is on.
	EnvAllow []string `koanf:"env_allow"`
}

// Backoff shapes the exponential wait between reconnection attempts.
type Backoff struct {
	// Initial is the first wait (> 0).
	Initial time.Duration `koanf:"initial"`
	// Max caps the wait (>= Initial).
	Max time.Duration `koanf:"max"`
	// Multiplier grows the wait after each failed attempt (>= 1).
	Multiplier float64 `koanf:"multiplier"`
	// Jitter randomises each wait by up to ±Jitter of itself, in [0, 1).
	Jitter float64 `koanf:"jitter"`
}

// Python configures the Python executor.
type Python struct {
	// Interpreter is the Python to run tasks with; "" means python3 on PATH.
	Interpreter string `koanf:"interpreter"`
	// Prefork is how many task processes are kept forked and waiting (>= 1).
	Prefork int `koanf:"prefork"`
	// MemoryBytes caps each task process's address space; 0 means no cap.
	MemoryBytes int64 `koanf:"memory_bytes"`
	// CPUSeconds caps each task process's CPU time; 0 means no cap.
	CPUSeconds int64 `koanf:"cpu_seconds"`
	// OpenFiles caps each task process's open files; 0 means no cap.
	OpenFiles int64 `koanf:"open_files"`
	// FileSizeBytes caps the size of any file a task writes; 0 means no cap.
	FileSizeBytes int64 `koanf:"file_size_bytes"`
	// TmpBytes is the size of each task's private temp dir, a tmpfs (>= 1 MiB).
	TmpBytes int64 `koanf:"tmp_bytes"`
	// Processes caps how many more processes a task may start; 0 means no cap.
	Processes int64 `koanf:"processes"`
	// Network is "deny" (the default: tasks get no network) or "allow".
	Network string `koanf:"network"`
	// Unavailable is what runwire does while Python cannot run tasks: "fail" (the default:
	// it goes on offering python tasks and answers each at once with the reason) or
	// "withdraw" (it stops offering them until Python runs again).
	Unavailable string `koanf:"unavailable"`
	// Walls is "require" (the default: no Python task runs when an expected wall is missing)
	// or "best-effort" (tasks run with what the kernel gives; logged loudly).
	Walls string `koanf:"walls"`
	// Preload names modules (stdlib or external, dotted names allowed) the zygote imports
	// before it forks, besides each name of Sandbox.ExternalAllow, so that every task
	// inherits them loaded. The allowlists still decide what user code may import.
	Preload []string `koanf:"preload"`
}

// Default returns the built-in defaults: n8n's Python runner defaults for
// the N8N_* settings and gRPC-style reconnect timings for runwire's own. It is
// not valid on its own, because no credentials are set.
func Default() Config {
	return Config{
		BrokerURI:               "http://127.0.0.1:5679",
		MaxConcurrency:          5,
		MaxPayload:              1 << 30,
		TaskTimeout:             60 * time.Second,
		AutoShutdownTimeout:     0,
		GracefulShutdownTimeout: 10 * time.Second,
		HealthCheck: HealthCheck{
			Enabled: false,
			Host:    "127.0.0.1",
			Port:    5681,
			Metrics: true,
		},
		Log: Log{Level: "INFO", Format: "auto"},
		Sandbox: Sandbox{
			StdlibAllow:   []string{},
			ExternalAllow: []string{},
			// n8n's default denied builtins, in n8n's order. Denying
			// __build_class__ means class statements fail, as in n8n.
			BuiltinsDeny: []string{
				"eval", "exec", "compile", "open", "input", "breakpoint",
				"getattr", "object", "type", "vars", "setattr", "delattr",
				"hasattr", "dir", "memoryview", "__build_class__", "globals",
				"locals", "license", "help", "credits", "copyright",
			},
			BlockEnvAccess:         true,
			AllowTransitiveImports: false,
			EnvAllow:               []string{},
		},
		Backoff: Backoff{
			Initial:    time.Second,
			Max:        30 * time.Second,
			Multiplier: 1.6,
			Jitter:     0.2,
		},
		Python: Python{
			Prefork:       2,
			MemoryBytes:   4 << 30,
			CPUSeconds:    120,
			OpenFiles:     256,
			FileSizeBytes: 100 << 20,
			TmpBytes:      100 << 20,
			Processes:     64,
			Network:       "deny",
			Unavailable:   "fail",
			Walls:         "require",
			Preload:       []string{},
		},
		PingInterval:     30 * time.Second,
		HandshakeTimeout: 10 * time.Second,
		SettingsTimeout:  10 * time.Second,
	}
}
