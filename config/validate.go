package config

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// maxPayloadLimit is n8n's upper bound for N8N_RUNNERS_MAX_PAYLOAD.
const maxPayloadLimit = 4294967295

// validator collects every problem, so an operator fixes them all in one
// round instead of one per restart, as n8n's launcher does.
type validator struct {
	origin map[string]string
	errs   []error
}

// fail records a problem with key. Messages start with the environment
// variable, the name n8n users know; when the value came from a flag or the
// config file, that is named too, so the user knows what to edit.
func (v *validator) fail(key, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	env := envOf(key)
	if o, ok := v.origin[key]; ok && o != env && o != env+"_FILE" {
		msg += " (set by " + o + ")"
	}
	v.errs = append(v.errs, invalidf("%s", msg))
}

// show quotes a text value for a message, unless it was read from a
// <NAME>_FILE: such a file may be a secret mounted under the wrong name.
func (v *validator) show(key, value string) string {
	if o := v.origin[key]; strings.HasSuffix(o, "_FILE") {
		return "the contents of " + o + " (not shown, as files may hold secrets)"
	}
	return strconv.Quote(value)
}

// validate checks c after normalize; it never prints a secret's value.
func validate(c Config, origin map[string]string) []error {
	v := &validator{origin: origin}
	v.brokerURI(c.BrokerURI)

	if !c.AuthToken.IsSet() && !c.GrantToken.IsSet() {
		v.errs = append(v.errs, invalidf("no broker credentials: set N8N_RUNNERS_AUTH_TOKEN (the broker's auth token; "+
			"runwire then fetches a fresh grant token for every connection) or N8N_RUNNERS_GRANT_TOKEN (a single-use grant token)"))
	}

	if strings.IndexFunc(c.RunnerID, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		v.fail("runner_id", "N8N_RUNNERS_ID must not contain spaces or control characters, got %s", strconv.Quote(c.RunnerID))
	}
	if c.MaxConcurrency < 1 {
		v.fail("max_concurrency", "N8N_RUNNERS_MAX_CONCURRENCY must be at least 1, got %d", c.MaxConcurrency)
	}
	if c.MaxPayload < 1 || c.MaxPayload > maxPayloadLimit {
		v.fail("max_payload", "N8N_RUNNERS_MAX_PAYLOAD must be between 1 and %d bytes, got %d", maxPayloadLimit, c.MaxPayload)
	}
	if c.TaskTimeout <= 0 {
		v.fail("task_timeout", "N8N_RUNNERS_TASK_TIMEOUT must be a positive number of seconds, got %s", seconds(c.TaskTimeout))
	}
	if c.AutoShutdownTimeout < 0 {
		v.fail("auto_shutdown_timeout", "N8N_RUNNERS_AUTO_SHUTDOWN_TIMEOUT must be 0 (off) or a positive number of seconds, got %s", seconds(c.AutoShutdownTimeout))
	}
	if c.GracefulShutdownTimeout <= 0 {
		v.fail("graceful_shutdown_timeout", "N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT must be a positive number of seconds, got %s", seconds(c.GracefulShutdownTimeout))
	}

	if c.HealthCheck.Port < 0 || c.HealthCheck.Port > 65535 {
		v.fail("health_check.port", "N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT: Port must be between 0 and 65535, got %d", c.HealthCheck.Port)
	}
	if !slices.Contains([]string{"auto", "text", "json"}, c.Log.Format) {
		v.fail("log.format", "RUNWIRE_LOG_FORMAT must be auto, text or json, got %s", v.show("log.format", c.Log.Format))
	}

	v.allowlist("sandbox.stdlib_allow", c.Sandbox.StdlibAllow)
	v.allowlist("sandbox.external_allow", c.Sandbox.ExternalAllow)

	b := c.Backoff
	if b.Initial <= 0 {
		v.fail("backoff.initial", "RUNWIRE_BACKOFF_INITIAL must be greater than 0, got %s", b.Initial)
	}
	if b.Max < b.Initial {
		v.fail("backoff.max", "RUNWIRE_BACKOFF_MAX must not be less than RUNWIRE_BACKOFF_INITIAL (%s), got %s", b.Initial, b.Max)
	}
	// Written as !(x >= 1) so NaN fails too.
	if !(b.Multiplier >= 1) || math.IsInf(b.Multiplier, 0) {
		v.fail("backoff.multiplier", "RUNWIRE_BACKOFF_MULTIPLIER must be a finite number of at least 1, got %v", b.Multiplier)
	}
	if !(b.Jitter >= 0 && b.Jitter < 1) {
		v.fail("backoff.jitter", "RUNWIRE_BACKOFF_JITTER must be at least 0 and less than 1, got %v", b.Jitter)
	}
	if c.PingInterval <= 0 {
		v.fail("ping_interval", "RUNWIRE_PING_INTERVAL must be greater than 0, got %s", c.PingInterval)
	}
	if c.HandshakeTimeout <= 0 {
		v.fail("handshake_timeout", "RUNWIRE_HANDSHAKE_TIMEOUT must be greater than 0, got %s", c.HandshakeTimeout)
	}
	if c.Python.Prefork < 1 {
		v.fail("python.prefork", "RUNWIRE_PYTHON_PREFORK must be at least 1, got %d", c.Python.Prefork)
	}
	for _, limit := range []struct {
		key string
		n   int64
	}{
		{"python.memory_bytes", c.Python.MemoryBytes}, {"python.cpu_seconds", c.Python.CPUSeconds},
		{"python.open_files", c.Python.OpenFiles}, {"python.file_size_bytes", c.Python.FileSizeBytes},
		{"python.processes", c.Python.Processes},
	} {
		if limit.n < 0 {
			v.fail(limit.key, "%s must be 0 (no cap) or more, got %d", envOf(limit.key), limit.n)
		}
	}
	if c.Python.TmpBytes < 1<<20 {
		v.fail("python.tmp_bytes", "RUNWIRE_PYTHON_TMP_BYTES must be at least 1048576 (1 MiB), got %d", c.Python.TmpBytes)
	}
	if c.Python.Network != "deny" && c.Python.Network != "allow" {
		v.fail("python.network", "RUNWIRE_PYTHON_NETWORK must be deny or allow, got %q", c.Python.Network)
	}
	if c.Python.Unavailable != "fail" && c.Python.Unavailable != "withdraw" {
		v.fail("python.unavailable", "RUNWIRE_UNAVAILABLE must be fail or withdraw, got %q", c.Python.Unavailable)
	}
	if c.Python.Walls != "require" && c.Python.Walls != "best-effort" {
		v.fail("python.walls", "RUNWIRE_PYTHON_WALLS must be require or best-effort, got %q", c.Python.Walls)
	}
	for _, name := range c.Python.Preload {
		if !moduleName(name) {
			v.fail("python.preload", "RUNWIRE_PYTHON_PRELOAD names modules to import (such as pandas or xml.etree), got %q; list dotted module names separated by commas", name)
		}
	}
	if c.SettingsTimeout <= 0 {
		v.fail("settings_timeout", "RUNWIRE_SETTINGS_TIMEOUT must be greater than 0, got %s", c.SettingsTimeout)
	}
	return v.errs
}

// brokerURI accepts what coder/websocket can dial. Only host and port are
// used, so a query string (n8n ignores it) or user info (credentials belong
// in the token variables) is a mistake worth stopping for. Messages show the
// URI without user info or query, which is where secrets would sit.
func (v *validator) brokerURI(raw string) {
	const key, example = "broker_uri", "for example http://127.0.0.1:5679"
	u, err := url.Parse(raw)
	if err != nil {
		reason := err.Error()
		var ue *url.Error
		if errors.As(err, &ue) {
			reason = ue.Err.Error() // without the URL itself
		}
		if strings.HasSuffix(v.origin[key], "_FILE") {
			reason = "not shown, as files may hold secrets"
		}
		v.fail(key, "N8N_RUNNERS_TASK_BROKER_URI is not a valid URL (%s); %s", reason, example)
		return
	}
	shown := v.show(key, safeURI(u))
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		v.fail(key, "N8N_RUNNERS_TASK_BROKER_URI must start with http://, https://, ws:// or wss://, got %s; %s", shown, example)
		return
	}
	if u.Hostname() == "" {
		v.fail(key, "N8N_RUNNERS_TASK_BROKER_URI has no host, got %s; %s", shown, example)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			v.fail(key, "N8N_RUNNERS_TASK_BROKER_URI has an invalid port %q; %s", p, example)
		}
	}
	if u.RawQuery != "" || u.ForceQuery {
		v.fail(key, "N8N_RUNNERS_TASK_BROKER_URI must not have a query string, got %s with a query; runwire builds the runner URL itself", shown)
	}
	if u.User != nil {
		v.fail(key, "N8N_RUNNERS_TASK_BROKER_URI must not contain user info, got %s with user info; put credentials in N8N_RUNNERS_AUTH_TOKEN or N8N_RUNNERS_GRANT_TOKEN", shown)
	}
}

// allowlist rejects "*" mixed with names, which n8n refuses to start with:
// the names would be meaningless and the intent unclear.
func (v *validator) allowlist(key string, list []string) {
	if len(list) > 1 && slices.Contains(list, "*") {
		v.fail(key, "%s: \"*\" allows everything and must be the only entry, got %s; use \"*\" alone or list the names",
			envOf(key), v.show(key, strings.Join(list, ",")))
	}
}

// moduleName is a dotted Python module name of ASCII identifiers: "pandas", "xml.etree".
func moduleName(name string) bool {
	for part := range strings.SplitSeq(name, ".") {
		if part == "" || (part[0] >= '0' && part[0] <= '9') {
			return false
		}
		for _, r := range part {
			if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
				return false
			}
		}
	}
	return true
}

// safeURI drops user info, query and fragment before a URI goes into a
// message.
func safeURI(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	return c.String()
}

// seconds prints a duration in the unit of n8n's variables when it is whole.
func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10)
	}
	return d.String()
}
