package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
	yamlv3 "go.yaml.in/yaml/v3"
)

// fromFile reads the YAML config file and returns the values of known keys
// as a flat map. Every unknown key is reported, naming the key and the file,
// because a typo in a config file otherwise silently does nothing.
func fromFile(path string) (values map[string]any, errs []error) {
	fk := koanf.New(".")
	if err := fk.Load(file.Provider(path), yaml.Parser()); err != nil {
		var typeErr *yamlv3.TypeError
		if errors.As(err, &typeErr) {
			// yaml.v3 quotes the start of the offending scalar, which could
			// be a token if the path points at the wrong file, so neither
			// its text nor the error itself (as a cause) is passed on.
			return nil, []error{invalidf("config file %s: the top level must be a mapping of keys such as broker_uri", path)}
		}
		return nil, []error{invalidCause(err, "failed to read config file %s: %v", path, err)}
	}

	values = make(map[string]any)
	for _, key := range fk.Keys() {
		v := fk.Get(key)
		if _, ok := settingByKey(key); ok {
			if v != nil { // "key:" with nothing after it means unset
				values[key] = v
			}
			continue
		}
		if sub := sectionKeys(key); sub != nil {
			// An empty or null section is harmless; a scalar or a list
			// where the section belongs is a mistake.
			if _, isMap := v.(map[string]any); v != nil && !isMap {
				errs = append(errs, invalidf("config file %s: %s must be a mapping with the keys %s", path, key, strings.Join(sub, ", ")))
			}
			continue
		}
		errs = append(errs, unknownKey(path, key))
	}
	return values, errs
}

// sectionKeys returns the keys under section (e.g. "backoff"), or nil if it
// is not a section.
func sectionKeys(section string) []string {
	var sub []string
	for _, s := range settings {
		if rest, ok := strings.CutPrefix(s.key, section+"."); ok {
			sub = append(sub, rest)
		}
	}
	return sub
}

func unknownKey(path, key string) error {
	msg := fmt.Sprintf("config file %s: unknown key %q", path, key)
	if near := nearestKey(key); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	return invalidf("%s", msg)
}

// nearestKey suggests the known key closest to a typo, if any is close.
func nearestKey(key string) string {
	best, bestDist := "", 4 // more than 3 edits away is no longer a typo
	keys := make([]string, 0, len(settings))
	for _, s := range settings {
		keys = append(keys, s.key)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
