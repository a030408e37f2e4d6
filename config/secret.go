package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// redacted is what every printing path shows instead of a set secret.
const redacted = "[redacted]"

// Secret is a credential. Every way Go code usually prints or encodes a value
// (fmt with any verb, slog, encoding/json, encoding.TextMarshaler users such as
// YAML encoders) shows "[redacted]" when it is set and "" when it is empty, so
// logging a Config or an error that embeds one cannot leak it. Only Reveal
// returns the value, which makes every use that needs it easy to find.
//
// Secret deliberately has no UnmarshalText: decoding (koanf, YAML, JSON) fills
// it as the plain string kind it is.
type Secret string

// Reveal returns the secret itself, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s != "" }

// String returns "[redacted]", or "" when the secret is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value; it returns the same as String.
func (s Secret) GoString() string { return s.String() }

// Format makes every fmt verb, including %x, %q and %d that would otherwise
// bypass String, print the redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

// LogValue makes slog print the redacted form with any handler.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes the redacted form as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText encodes the redacted form, for text encoders and map keys.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
