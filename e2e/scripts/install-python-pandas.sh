#!/usr/bin/env bash
# Installs Debian's python3-pandas (pandas and numpy for Debian's /usr/bin/python3) when that
# interpreter cannot import pandas: make bench's preload cases and the e2e suite's pandas Code
# node run with it. With OpenBLAS's threaded build, as numpy's own wheels bundle it: its thread
# pool at import is the hazard the zygote's preloads must handle before they fork. About 1 to
# 2 minutes once per machine; nothing when it is there.
set -euo pipefail
python=/usr/bin/python3
if "$python" -c 'import pandas' 2>/dev/null; then
	exit 0
fi
if ! command -v apt-get >/dev/null; then
	echo "install-python-pandas: $python cannot import pandas and there is no apt-get: install pandas for it yourself" >&2
	exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
echo "install-python-pandas: installing python3-pandas with apt-get (once per machine)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends python3-pandas libopenblas0-pthread >/dev/null ||
	{ $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends python3-pandas libopenblas0-pthread >/dev/null; }
"$python" -c 'import pandas'
