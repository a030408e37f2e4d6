package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/runwire/runwire/config"
	"github.com/runwire/runwire/fsm"
)

// The exit codes.
const (
	ExitOK         = 0
	ExitFailure    = 1
	ExitConfig     = 2
	ExitAuthFailed = 3
)

// Env is what the process hands the command line.
type Env struct {
	Args    []string // without the program name
	Environ []string // os.Environ()
	Stdout  io.Writer
	Stderr  io.Writer
	// Signals delivers SIGINT/SIGTERM: the first stops runwire gracefully, the second exits
	// at once. nil means no signals.
	Signals <-chan os.Signal
	// Terminal tells whether Stdout is a terminal.
	Terminal bool
	// Version is the build's version string, Commit the commit it was built from.
	Version, Commit string
}

// Main runs one command and returns the process exit code.
func Main(ctx context.Context, env Env) int {
	cmd, args := "run", env.Args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return run(ctx, env, args)
	case "config":
		return printConfig(env, args)
	case "diagram":
		return diagram(env, args)
	case "version":
		fmt.Fprintf(env.Stdout, "runwire %s (commit %s, %s, %s/%s)\n", env.Version, env.Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return ExitOK
	case "help":
		fmt.Fprint(env.Stdout, usage())
		return ExitOK
	default:
		fmt.Fprintf(env.Stderr, "runwire: unknown command %q\n\n%s", cmd, usage())
		return ExitConfig
	}
}

func usage() string {
	return `runwire: a fast task runner for n8n's Python Code node.

Commands:
  runwire [run] [flags]        connect to the task broker and run tasks (the default)
  runwire config [flags]       print the effective configuration, secrets redacted
  runwire diagram [--markdown] print the connection state machine as Mermaid
  runwire version              print the version
  runwire help                 print this help

Exit codes: 0 stopped (signal, idle timeout), 1 failure, 2 configuration error,
3 authentication failed.

` + config.Usage()
}

// loadConfig loads the configuration, printing help or the problems; ok is false when the
// command should end with code.
func loadConfig(env Env, args []string) (cfg config.Config, code int, ok bool) {
	cfg, err := config.Load(args, env.Environ)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(env.Stdout, usage())
		return cfg, ExitOK, false
	case err != nil:
		fmt.Fprintf(env.Stderr, "runwire: configuration error:\n%s\n", indent(err.Error()))
		return cfg, ExitConfig, false
	}
	return cfg, ExitOK, true
}

func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = "  - " + l
	}
	return strings.Join(lines, "\n")
}

func printConfig(env Env, args []string) int {
	cfg, code, ok := loadConfig(env, args)
	if !ok {
		return code
	}
	fmt.Fprint(env.Stdout, cfg.Describe())
	return ExitOK
}

func diagram(env Env, args []string) int {
	switch {
	case len(args) == 0:
		fmt.Fprint(env.Stdout, fsm.Mermaid())
	case slices.Equal(args, []string{"--markdown"}):
		fmt.Fprint(env.Stdout, fsm.Markdown())
	default:
		fmt.Fprintf(env.Stderr, "runwire: diagram takes only --markdown, got %q\n", args)
		return ExitConfig
	}
	return ExitOK
}
