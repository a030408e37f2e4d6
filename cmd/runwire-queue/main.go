// Command runwire-queue runs n8n in queue mode on this machine with a runwire beside each
// worker, until Ctrl-C (or SIGTERM), then stops it all and removes its folder:
//
//	runwire-queue --runwire bin/runwire [--workers 2] [--concurrency 10]
//
// It installs what is missing (n8n with e2e/scripts/install-n8n.sh, PostgreSQL and Redis with
// e2e/scripts/install-queue-deps.sh), starts the topology of package e2e/queue, sets up the
// owner, and prints the editor's address, the login and every process id.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/runwire/runwire/e2e/n8n"
	"github.com/runwire/runwire/e2e/queue"
)

const ownerEmail = "queue@runwire.test"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("runwire-queue", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := queue.Options{}
	fs.StringVar(&opts.Runwire, "runwire", "bin/runwire", "the runwire binary to run beside each worker")
	n8nScript := fs.String("install-n8n", "e2e/scripts/install-n8n.sh", "the script that installs n8n")
	depsScript := fs.String("install-deps", "e2e/scripts/install-queue-deps.sh", "the script that installs PostgreSQL and Redis")
	fs.IntVar(&opts.Workers, "workers", 2, "n8n workers, each with its own broker and runwire")
	fs.IntVar(&opts.Concurrency, "concurrency", 10, "each worker's --concurrency")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	opts.RunwireEnv = []string{"N8N_RUNNERS_MAX_CONCURRENCY=" + fmt.Sprint(opts.Concurrency)}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := up(ctx, opts, *n8nScript, *depsScript, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "runwire-queue:", err)
		return 1
	}
	return 0
}

// up starts the topology, waits for a signal, and stops it.
func up(ctx context.Context, opts queue.Options, n8nScript, depsScript string, stdout, stderr io.Writer) (err error) {
	if opts.InstallDir, err = n8n.Install(ctx, n8nScript, stderr); err != nil {
		return err
	}
	if opts.Deps, err = queue.InstallDeps(ctx, depsScript, stderr); err != nil {
		return err
	}
	started := time.Now()
	t, err := queue.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(stdout, "stopping")
		if serr := t.Stop(); serr != nil && err == nil {
			err = serr
		}
		fmt.Fprintln(stdout, "stopped; removed", t.Dir())
	}()
	client := n8n.NewClient(t.Main.URL())
	defer client.CloseIdleConnections()
	// A fresh password each time, within n8n's rules (a digit, a capital letter).
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	ownerPassword := "Queue-" + hex.EncodeToString(b) + "-A1"
	if err := client.SetupOwner(ctx, ownerEmail, ownerPassword, "Queue", "Mode"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "queue mode up in %.1f s, folder %s\n", time.Since(started).Seconds(), t.Dir())
	fmt.Fprintf(stdout, "editor %s (login %s / %s)\n", t.Main.URL(), ownerEmail, ownerPassword)
	fmt.Fprintf(stdout, "postgres pid %d port %d; redis pid %d port %d; main pid %d\n",
		t.Postgres.PID(), t.Postgres.Port, t.Redis.PID(), t.Redis.Port, t.Main.PID())
	for _, w := range t.Workers {
		fmt.Fprintf(stdout, "worker %d pid %d broker %s; runwire pid %d via %s\n", w.Index, w.Server.PID(), w.Server.BrokerURL(), w.Runwire.PID(), w.Proxy.URL())
	}
	fmt.Fprintln(stdout, "ready; Ctrl-C stops it all")
	<-ctx.Done()
	return nil
}
