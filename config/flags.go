package config

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
)

// newFlagSet declares runwire's flags. Its output is discarded: Load reports
// errors through its return value and Usage renders the help itself.
func newFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("runwire", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String(configFlag, "", "YAML config file")
	defaults := flatten(Default())
	for _, s := range settings {
		if s.flag == "" {
			continue
		}
		switch s.kind {
		case kindBool:
			b, _ := defaults[s.key].(bool)
			fs.Bool(s.flag, b, s.usage)
		case kindInt:
			n, _ := defaults[s.key].(int)
			fs.Int(s.flag, n, s.usage)
		default:
			str, _ := defaults[s.key].(string)
			fs.String(s.flag, str, s.usage)
		}
	}
	return fs
}

// fromFlags returns the values of the flags the user actually set. Flags
// left alone contribute nothing, so a flag's default never hides a value
// from the file or the environment.
func fromFlags(fs *flag.FlagSet) (values map[string]any, origin map[string]string) {
	values = make(map[string]any)
	origin = make(map[string]string)
	fs.Visit(func(f *flag.Flag) {
		for _, s := range settings {
			if s.flag == f.Name {
				values[s.key] = f.Value.(flag.Getter).Get()
				origin[s.key] = "--" + f.Name
			}
		}
	})
	return values, origin
}

// Usage returns the help text for `runwire --help`: the flags, the
// precedence of the layers, why secrets have no flags, and every
// environment variable with its config-file key.
func Usage() string {
	var b bytes.Buffer
	fmt.Fprint(&b, `Usage: runwire [flags]

Settings are layered: built-in defaults, then the YAML config file (--config
or RUNWIRE_CONFIG), then environment variables, then flags; later layers win.
"runwire config" prints the effective configuration.

Flags:
`)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  --%s path\tYAML config file; overrides %s\n", configFlag, configEnv)
	defaults := flatten(Default())
	for _, s := range settings {
		if s.flag == "" {
			continue
		}
		arg := " string"
		switch s.kind {
		case kindBool:
			arg = ""
		case kindInt:
			arg = " int"
		}
		fmt.Fprintf(tw, "  --%s%s\t%s (default %s; env %s)\n", s.flag, arg, s.usage, formatValue(defaults[s.key]), s.env)
	}
	fmt.Fprintf(tw, "  -h, --help\tshow this help\n")
	_ = tw.Flush()

	fmt.Fprint(&b, `
Secrets have no flags, because a command line is visible to every user of
the machine (ps, /proc). Set N8N_RUNNERS_AUTH_TOKEN or N8N_RUNNERS_GRANT_TOKEN
in the environment, in a file named by N8N_RUNNERS_AUTH_TOKEN_FILE or
N8N_RUNNERS_GRANT_TOKEN_FILE, or in the config file.

Environment variables (each also accepts <NAME>_FILE, a file holding the
value; n8n's variables keep n8n's formats):
`)
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  %s\tpath of the YAML config file\n", configEnv)
	for _, s := range settings {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.env, s.key, kindHint(s.kind))
	}
	_ = tw.Flush()
	return b.String()
}

// kindHint tells a reader the format a variable takes.
func kindHint(k kind) string {
	switch k {
	case kindSecret:
		return "secret"
	case kindInt:
		return "integer"
	case kindSeconds:
		return "integer seconds"
	case kindBool:
		return "true/false"
	case kindList:
		return "comma list"
	case kindDuration:
		return "Go duration (500ms, 2s)"
	case kindFloat:
		return "number"
	default:
		return "text"
	}
}
