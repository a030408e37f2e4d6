// Package cli is runwire's command line: the subcommands (run, config, diagram, version),
// the wiring of config, logging, the health server, the transport and the lifecycle machine,
// signal handling and the exit codes. cmd/runwire only hands it the process's arguments,
// environment, streams and signals, so specs can drive it in-process.
//
// Exit codes: 0 stopped (signal or idle timeout), 1 anything else (including a shutdown that
// overran N8N_RUNNERS_GRACEFUL_SHUTDOWN_TIMEOUT or a second signal), 2 configuration error,
// 3 authentication failed.
package cli
