// Package queue runs n8n in queue mode on one machine, on loopback only, for runwire's
// queue-mode load and fault tests: a PostgreSQL and a Redis of its own (Debian's packages,
// installed by e2e/scripts/install-queue-deps.sh), one n8n main that puts executions on the
// queue, and n8n workers that run them, each worker with its own task broker and one runwire
// beside it (docs/deploy.md, "Scaling out").
//
// Every process is started in its own process group and ended through the pid recorded when it
// was started, never by name; Topology.Stop ends them all and removes the topology's folder,
// data directories included.
package queue
