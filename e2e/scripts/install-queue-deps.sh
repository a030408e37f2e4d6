#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis are installed, from Debian's packages, for the queue-mode
# topology (e2e/queue), and prints where their servers are:
#   postgres_bin=/usr/lib/postgresql/<version>/bin
#   redis_server=/usr/bin/redis-server
# Idempotent: when both are there it only looks. Installing needs root and apt-get.
#
# No system service is used or touched: e2e/queue starts its own servers on free loopback ports
# with data folders of their own. If the packages' install scripts start Debian's own cluster or
# redis service (they do where an init system runs), those are left as they are, and unused.
set -euo pipefail

log() { echo "install-queue-deps: $*" >&2; }

find_postgres() {
	local bin
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	[[ -n "$bin" && -x "$bin/postgres" && -x "$bin/initdb" ]] && echo "$bin"
}

find_redis() {
	command -v redis-server 2>/dev/null || { [[ -x /usr/bin/redis-server ]] && echo /usr/bin/redis-server; } || true
}

pg=$(find_postgres || true)
redis=$(find_redis)
if [[ -z "$pg" || -z "$redis" ]]; then
	missing=()
	[[ -z "$pg" ]] && missing+=(postgresql)
	[[ -z "$redis" ]] && missing+=(redis-server)
	if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
		log "missing ${missing[*]}; install them as root (apt-get install -y ${missing[*]}) and run this again"
		exit 1
	fi
	log "installing ${missing[*]} from Debian's packages (about half a minute, once per machine)"
	export DEBIAN_FRONTEND=noninteractive
	apt=(apt-get -o DPkg::Lock::Timeout=300 -y -q)
	# A fresh machine may have no package lists yet.
	if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
		"${apt[@]}" update >&2
	fi
	"${apt[@]}" install --no-install-recommends "${missing[@]}" >&2
	pg=$(find_postgres || true)
	redis=$(find_redis)
	[[ -n "$pg" ]] || { log "postgresql is installed but /usr/lib/postgresql/*/bin/postgres is not there"; exit 1; }
	[[ -n "$redis" ]] || { log "redis-server is installed but not on PATH"; exit 1; }
fi
echo "postgres_bin=$pg"
echo "redis_server=$redis"
