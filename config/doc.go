// Package config loads runwire's configuration and is the only package that
// imports koanf.
//
// Load layers four sources, each overriding the one before:
//
//  1. Default(): n8n's Python runner defaults and runwire's own.
//  2. An optional YAML file, named by --config or RUNWIRE_CONFIG. Keys are
//     snake_case and nested like Config (broker_uri, health_check.port,
//     backoff.initial); durations are Go durations ("60s"); lists are YAML
//     sequences or comma strings. An unknown key is an error, to catch typos.
//  3. An explicit allow-list of environment variables (see Usage). n8n's
//     N8N_* variables keep n8n's formats, so an n8n runner's environment works
//     unchanged: integer seconds, "true" (any case) as the only true, comma
//     lists. runwire's RUNWIRE_* durations are Go durations. Every variable
//     also accepts <NAME>_FILE, a file holding the value, for mounted secrets.
//  4. The flags the user actually set; a flag's default never overrides.
//
// The result is validated as a whole and every problem is reported at once.
// Tokens are Secret values, which print as "[redacted]" through fmt, slog and
// encoders; there are no flags for them, since command lines are visible to
// other users of the machine.
package config
