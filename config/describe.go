package config

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
)

// Describe returns the effective configuration for `runwire config`: one
// "key: value  # VARIABLE, --flag" line per setting, in the order of the
// settings table, so a user sees both the value and what sets it. Secrets
// print as [redacted] or (not set); a password in the broker URI is masked.
func (c Config) Describe() string {
	var b bytes.Buffer
	b.WriteString("# effective runwire configuration (flags > environment > config file > defaults)\n")
	if c.File != "" {
		fmt.Fprintf(&b, "# config file: %s\n", c.File)
	} else {
		b.WriteString("# config file: none\n")
	}
	values := flatten(c)
	for _, s := range settings {
		v := values[s.key]
		if s.key == "broker_uri" {
			v = redactURI(c.BrokerURI)
		}
		where := s.env
		if s.flag != "" {
			where += ", --" + s.flag
		}
		switch s.kind {
		case kindSeconds:
			where += " (env: integer seconds)"
		case kindDuration:
			where += " (env: Go duration)"
		}
		fmt.Fprintf(&b, "%s: %s  # %s\n", s.key, formatValue(v), where)
	}
	return b.String()
}

// flatten returns c as koanf's flat key → value map, keeping Go types
// (Secret, time.Duration) so formatValue can tell them apart.
func flatten(c Config) map[string]any {
	k := koanf.New(".")
	// The structs provider cannot fail on a struct value.
	_ = k.Load(structs.Provider(c, "koanf"), nil)
	return k.All()
}

// formatValue prints one setting's value for Describe and Usage.
func formatValue(v any) string {
	switch v := v.(type) {
	case Secret:
		if !v.IsSet() {
			return "(not set)"
		}
		return v.String()
	case string:
		if v == "" || strings.TrimSpace(v) != v || strings.ContainsAny(v, "#\"'\n") {
			return strconv.Quote(v)
		}
		return v
	case time.Duration:
		// "60s" rather than "1m0s": it is still a Go duration the config
		// file accepts, and it reads as the seconds n8n's variables use.
		if v%time.Second == 0 {
			return strconv.FormatInt(int64(v/time.Second), 10) + "s"
		}
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case []string:
		return "[" + strings.Join(v, ", ") + "]"
	default:
		return fmt.Sprint(v)
	}
}

// redactURI masks a password in raw the way url.URL.Redacted does; Load
// rejects user info anyway, but Describe must be safe on any Config.
func redactURI(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}
