// Command runwire-bench measures a built runwire binary against a loopback task broker:
// start-to-registered time, idle memory of its whole process tree, and p50/p99 latency and
// throughput of four Python workloads, sequential and with five tasks in flight. It prints one
// Markdown table; docs/performance.md describes the method. `make bench` runs it.
//
//	runwire-bench --runwire bin/runwire
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(run()) }

func run() int {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "runwire-bench:", err)
		return 2
	}
	// A Ctrl-C ends the context; every path out stops the runwire child (deferred below).
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	var raw [16]byte
	_, _ = rand.Read(raw[:])
	b := &bench{opts: opts, authToken: hex.EncodeToString(raw[:]), environ: os.Environ(), rep: newReport()}
	if opts.logPath != "" {
		f, err := os.OpenFile(opts.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, "runwire-bench:", err)
			return 2
		}
		defer f.Close()
		b.logCopy = f
	}
	b.broker, err = startBroker(b.authToken)
	if err != nil {
		fmt.Fprintln(os.Stderr, "runwire-bench:", err)
		return 1
	}
	defer b.broker.close()
	defer b.stopAll()

	if err := b.run(ctx); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "runwire-bench: interrupted; runwire stopped")
			return 130
		}
		b.stopAll()
		fmt.Fprintln(os.Stderr, "runwire-bench:", err)
		b.rep.printOddities(os.Stderr)
		return 1
	}
	b.rep.print(os.Stdout)
	return 0
}
