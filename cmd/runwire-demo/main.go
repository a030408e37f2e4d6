// Command runwire-demo runs runwire in a real n8n on this machine: `make demo` and
// `make demo-down`.
//
//	runwire-demo up   --runwire bin/runwire --install e2e/scripts/install-n8n.sh
//	runwire-demo down
//
// `up` installs n8n if it is missing (once per machine, cached outside the clone), starts n8n
// in external-runner mode and runwire against it, runs a sample workflow whose Python Code
// node transforms a few items and prints, shows the items, the console lines and the timings,
// and leaves both running with the editor's address and login printed. `down` stops them.
// What it needs to remember between the two (process ids, ports, the login, the runners' auth
// token) is in state.json in its folder, readable by the user only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	if len(args) == 0 || (args[0] != "up" && args[0] != "down") {
		fmt.Fprintln(os.Stderr, "usage: runwire-demo up [--runwire bin/runwire] [--install e2e/scripts/install-n8n.sh] | down")
		return 2
	}
	fs := flag.NewFlagSet("runwire-demo "+args[0], flag.ContinueOnError)
	d := demo{out: os.Stdout}
	fs.StringVar(&d.runwire, "runwire", "bin/runwire", "the runwire binary to run")
	fs.StringVar(&d.installScript, "install", "e2e/scripts/install-n8n.sh", "the script that installs n8n")
	fs.StringVar(&d.dir, "dir", defaultDir(), "where the demo keeps n8n's data, the logs and its state")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	if args[0] == "up" {
		err = d.up(ctx)
	} else {
		err = d.down(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "runwire-demo:", err)
		return 1
	}
	return 0
}

// defaultDir is the demo's folder, beside the n8n install in runwire's cache.
func defaultDir() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "runwire", "demo")
}
