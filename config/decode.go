package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/v2"
)

var (
	durationType = reflect.TypeFor[time.Duration]()
	listType     = reflect.TypeFor[[]string]()
)

// decode unmarshals the merged layers into a Config. The environment and
// flag layers already hold typed values, so a decode error can only come from
// the config file; the messages name the key and the file. Bad keys are put
// back to their defaults and decoding is retried, so validation can still
// report the other problems in the same run.
//
// The decoder config replaces koanf's default, so the hooks it relied on are
// supplied here: strict durations and comma-string lists. Weak typing stays
// on so `port: "5681"` in YAML still works.
//
// ok is false when even the retry failed; cfg is then unusable.
func decode(k *koanf.Koanf, path string) (cfg Config, errs []error, ok bool) {
	cfg, err := unmarshal(k)
	if err == nil {
		return cfg, nil, true
	}
	// The messages are rebuilt without keeping mapstructure's errors as
	// causes: those carry the offending value in a field, and that value
	// may be a mistyped secret.
	defaults := flatten(Default())
	for _, leaf := range leaves(err) {
		var de *mapstructure.DecodeError
		if !errors.As(leaf, &de) {
			errs = append(errs, invalidf("config file %s: %v", path, leaf))
			continue
		}
		errs = append(errs, invalidf("config file %s: %s: %v", path, de.Name(), de.Unwrap()))
		key, _, _ := strings.Cut(de.Name(), "[") // "sandbox.stdlib_allow[1]" names the list
		if def, found := defaults[key]; found {
			_ = k.Set(key, def)
		}
	}
	if cfg, err = unmarshal(k); err != nil {
		return Config{}, append(errs, invalidf("config file %s: %v", path, err)), false
	}
	return cfg, errs, true
}

func unmarshal(k *koanf.Koanf) (Config, error) {
	var cfg Config
	err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{
		Tag: "koanf",
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook:       mapstructure.ComposeDecodeHookFunc(durationHook, listHook),
			WeaklyTypedInput: true,
			TagName:          "koanf",
		},
	})
	return cfg, err
}

// leaves flattens what mapstructure returns (a wrapper around a tree of
// errors.Join results) into one *mapstructure.DecodeError per bad key.
//
// It inspects one level at a time on purpose, so it uses type assertions
// where errors.As would jump to the first DecodeError anywhere in the tree.
func leaves(err error) []error {
	if de, ok := err.(*mapstructure.DecodeError); ok { //nolint:errorlint // one level, see above
		if _, joined := de.Unwrap().(interface{ Unwrap() []error }); !joined { //nolint:errorlint // one level
			return []error{err}
		}
	}
	switch e := err.(type) { //nolint:errorlint // one level, see above
	case interface{ Unwrap() []error }:
		var out []error
		for _, inner := range e.Unwrap() {
			out = append(out, leaves(inner)...)
		}
		return out
	case interface{ Unwrap() error }:
		if inner := e.Unwrap(); inner != nil {
			return leaves(inner)
		}
	}
	return []error{err}
}

// durationHook accepts Go durations ("90s", "1m30s") from the file. A bare
// number is refused rather than read as nanoseconds, the decoder's default,
// which would turn `task_timeout: 60` into 60ns; 0 is unambiguous and allowed.
func durationHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	switch v := data.(type) {
	case time.Duration:
		return v, nil
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("must be a Go duration such as 500ms, 30s or 1m, got %q", v)
		}
		return d, nil
	case int:
		if v == 0 {
			return time.Duration(0), nil
		}
	}
	return nil, fmt.Errorf("must be a Go duration with a unit, such as 60s, got %v", data)
}

// listHook accepts a comma string ("a, b") where a list is expected, as the
// environment does; normalize then trims and dedupes whatever the source.
func listHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	if to != listType {
		return data, nil
	}
	if s, ok := data.(string); ok {
		return parseList(s), nil
	}
	return data, nil
}
