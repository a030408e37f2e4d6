// Command runwire is a fast task runner for n8n's Python Code node: it connects to n8n's task
// broker and runs the tasks it is given. See `runwire help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/runwire/runwire/cli"
	"github.com/runwire/runwire/logging"
)

// version and commit are set at build time (make build, make release); "dev" and "unknown"
// otherwise.
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	os.Exit(cli.Main(context.Background(), cli.Env{
		Args:     os.Args[1:],
		Environ:  os.Environ(),
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Signals:  signals,
		Terminal: logging.IsTerminal(os.Stdout),
		Version:  version,
		Commit:   commit,
	}))
}
