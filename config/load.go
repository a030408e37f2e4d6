package config

import (
	"errors"
	"flag"
	"fmt"

	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
)

// Load builds the effective Config from four layers, each overriding the
// one before: Default(), the YAML file named by --config or RUNWIRE_CONFIG
// (none if neither is given), the allow-listed environment variables in
// environ, and the flags in args that were actually set. It then validates
// the result.
//
// args are the flags only (no program name, no subcommand); environ has the
// form of os.Environ(). Load never reads the process environment, so callers
// and specs choose exactly what it sees.
//
// All problems found are returned together, joined with errors.Join; each
// satisfies errors.Is(err, ErrInvalid) and none contains a secret. -h or
// --help in args returns an error satisfying errors.Is(err, flag.ErrHelp)
// instead, and the caller prints Usage().
func Load(args []string, environ []string) (Config, error) {
	fs := newFlagSet()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, invalidCause(err, "%v (see --help)", err)
	}
	if fs.NArg() > 0 {
		return Config{}, invalidf("unexpected argument %q: runwire takes only flags (see --help)", fs.Arg(0))
	}

	env := parseEnviron(environ)
	var (
		errs     []error
		warnings []string
		origin   = make(map[string]string)
	)
	k := koanf.New(".")
	if err := k.Load(structs.Provider(Default(), "koanf"), nil); err != nil {
		return Config{}, fmt.Errorf("failed to load defaults: %w", err)
	}
	merge := func(values map[string]any, from map[string]string) {
		// confmap cannot fail on a map; a failure here would be a bug.
		if err := k.Load(confmap.Provider(values, "."), nil); err != nil {
			errs = append(errs, err)
		}
		for key, o := range from {
			origin[key] = o
		}
	}

	path, pathWarning := configPath(fs, env)
	if pathWarning != "" {
		warnings = append(warnings, pathWarning)
	}
	if path != "" {
		values, fileErrs := fromFile(path)
		errs = append(errs, fileErrs...)
		from := make(map[string]string, len(values))
		for key := range values {
			from[key] = key + " in " + path
		}
		merge(values, from)
	}

	envValues, envOrigin, envErrs := fromEnv(env)
	errs = append(errs, envErrs...)
	merge(envValues, envOrigin)
	merge(fromFlags(fs))

	cfg, decodeErrs, ok := decode(k, path)
	errs = append(errs, decodeErrs...)
	if !ok {
		return Config{}, errors.Join(errs...)
	}
	cfg.File = path
	warnings = append(warnings, normalize(&cfg, origin)...)
	errs = append(errs, validate(cfg, origin)...)
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	cfg.Warnings = warnings
	return cfg, nil
}

// configPath picks the config file: a set --config flag (even to "", which
// switches a RUNWIRE_CONFIG file off) wins over RUNWIRE_CONFIG.
//
// RUNWIRE_CONFIG deliberately has no _FILE variant: RUNWIRE_CONFIG_FILE reads
// like "the config file", and treating the YAML inside as a path would put
// its contents, tokens included, into an error message. It gets a warning.
func configPath(fs *flag.FlagSet, env environment) (path, warning string) {
	if _, ok := env[configEnv+"_FILE"]; ok {
		warning = configEnv + "_FILE is ignored; set " + configEnv + " to the path of the config file"
	}
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == configFlag {
			path, set = f.Value.String(), true
		}
	})
	if set {
		return path, warning
	}
	return env[configEnv], warning
}
