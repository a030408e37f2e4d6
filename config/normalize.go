package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// logLevels are the names accepted for Log.Level: Python's level names,
// which n8n documents, plus Go's WARN.
var logLevels = []string{"DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL"}

// normalize brings values from every layer into one canonical form and
// returns warnings for what it had to guess.
func normalize(c *Config, origin map[string]string) (warnings []string) {
	c.BrokerURI = strings.TrimSpace(c.BrokerURI)
	c.RunnerID = strings.TrimSpace(c.RunnerID)
	c.HealthCheck.Host = strings.TrimSpace(c.HealthCheck.Host)
	c.Log.Format = strings.ToLower(strings.TrimSpace(c.Log.Format))

	// An unknown level falls back to INFO, as n8n's runner does, rather than
	// refusing to start over a log setting; an empty one means "default".
	level := strings.ToUpper(strings.TrimSpace(c.Log.Level))
	switch {
	case level == "":
		level = "INFO"
	case !slices.Contains(logLevels, level):
		src := sourceOf("log.level", origin)
		shown := strconv.Quote(c.Log.Level)
		if strings.HasSuffix(src, "_FILE") {
			shown = "(not shown, as files may hold secrets)"
		}
		warnings = append(warnings, fmt.Sprintf("unknown log level %s (set by %s); using INFO (accepted: %s)",
			shown, src, strings.Join(logLevels, ", ")))
		level = "INFO"
	}
	c.Log.Level = level

	// The file may give lists as YAML sequences with stray blanks or
	// repeats; apply the same rule as the environment. This also makes
	// every list non-nil.
	c.Sandbox.StdlibAllow = normalizeList(c.Sandbox.StdlibAllow)
	c.Sandbox.ExternalAllow = normalizeList(c.Sandbox.ExternalAllow)
	c.Sandbox.BuiltinsDeny = normalizeList(c.Sandbox.BuiltinsDeny)
	c.Sandbox.EnvAllow = normalizeList(c.Sandbox.EnvAllow)
	return warnings
}

// sourceOf names where key's value came from: the variable, the flag, or
// the key and file.
func sourceOf(key string, origin map[string]string) string {
	if o, ok := origin[key]; ok {
		return o
	}
	return envOf(key)
}
