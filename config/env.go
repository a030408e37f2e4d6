package config

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// maxValueFile caps what a <NAME>_FILE may hold: a token or a number is
// tiny, and a path mistyped as /dev/zero must not eat the memory.
const maxValueFile = 1 << 20

// environment is the injected process environment. Later entries win, as
// documented for exec.Cmd.Env, so a spec can append an override.
type environment map[string]string

func parseEnviron(environ []string) environment {
	env := make(environment, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		env[k] = v
	}
	return env
}

// lookup returns name's value and the variable it came from, following
// n8n's _FILE convention: <name> wins whenever it is present, even empty;
// otherwise a non-empty <name>_FILE is read and trimmed, which is how
// Docker and Kubernetes secrets are mounted.
func (e environment) lookup(name string) (value, source string, ok bool, err error) {
	if v, ok := e[name]; ok {
		return v, name, true, nil
	}
	fileVar := name + "_FILE"
	path := e[fileVar]
	if path == "" {
		return "", "", false, nil
	}
	b, err := readValueFile(path)
	if err != nil {
		return "", "", false, invalidCause(err, "failed to read %s from file %s: %v", fileVar, path, err)
	}
	return strings.TrimSpace(string(b)), fileVar, true, nil
}

func readValueFile(path string) ([]byte, error) {
	f, err := os.Open(path) //nolint:gosec // G304: reading the file the operator named is the point
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, maxValueFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxValueFile {
		return nil, fmt.Errorf("file is larger than %d bytes", maxValueFile)
	}
	return b, nil
}

// fromEnv reads every allow-listed variable that is present and converts it
// to the typed value the config struct holds, so n8n's formats never reach
// the decoder. origin maps each key found to the variable that set it.
func fromEnv(env environment) (values map[string]any, origin map[string]string, errs []error) {
	values = make(map[string]any)
	origin = make(map[string]string)
	for _, s := range settings {
		raw, source, ok, err := env.lookup(s.env)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue
		}
		v, err := parseEnvValue(s, raw, source)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		values[s.key] = v
		origin[s.key] = source
	}
	return values, origin, errs
}

// parseEnvValue converts one raw value. Integer errors use n8n's wording so
// operators see the message they would get from n8n's runner.
func parseEnvValue(s setting, raw, source string) (any, error) {
	// got quotes the offending value as n8n does, except when it came from
	// a file: a file may be a secret mounted under the wrong name. The
	// strconv error is not kept as a cause for the same reason.
	got := func(what string) string {
		if source != s.env {
			return fmt.Sprintf(", but the contents of %s are not %s (not shown, as files may hold secrets)", source, what)
		}
		return ", got '" + raw + "'"
	}
	trimmed := strings.TrimSpace(raw)
	switch s.kind {
	case kindSecret:
		return raw, nil
	case kindString:
		return trimmed, nil
	case kindBool:
		return strings.EqualFold(trimmed, "true"), nil
	case kindList:
		return parseList(raw), nil
	case kindInt:
		n, err := strconv.ParseInt(trimmed, 10, 64)
		if err != nil {
			return nil, invalidf("Environment variable %s must be an integer%s", s.env, got("an integer"))
		}
		return n, nil
	case kindSeconds:
		n, err := strconv.ParseInt(trimmed, 10, 64)
		if err != nil {
			return nil, invalidf("Environment variable %s must be an integer%s", s.env, got("an integer"))
		}
		const limit = math.MaxInt64 / int64(time.Second)
		if n > limit || n < -limit {
			return nil, invalidf("Environment variable %s must be a number of seconds between -%d and %d%s", s.env, limit, limit, got("in range"))
		}
		return time.Duration(n) * time.Second, nil
	case kindDuration:
		d, err := time.ParseDuration(trimmed)
		if err != nil {
			return nil, invalidf("Environment variable %s must be a Go duration such as 500ms or 2s%s", s.env, got("a duration"))
		}
		return d, nil
	case kindFloat:
		f, err := strconv.ParseFloat(trimmed, 64)
		if err != nil {
			return nil, invalidf("Environment variable %s must be a number%s", s.env, got("a number"))
		}
		return f, nil
	}
	return nil, errors.New("config: unhandled kind") // unreachable: every kind is listed above
}

// parseList applies n8n's allowlist rule: split on ",", trim each part, drop
// empty parts, drop repeats keeping the first; case and dots are kept. The
// result is never nil, so "set to nothing" and "unset" look the same to users
// of the Config.
func parseList(raw string) []string {
	return normalizeList(strings.Split(raw, ","))
}

func normalizeList(items []string) []string {
	out := make([]string, 0, len(items))
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "" || seen[it] {
			continue
		}
		seen[it] = true
		out = append(out, it)
	}
	return out
}
