#!/usr/bin/env bash
# Installs Debian's qemu-user-static when qemu-aarch64-static is missing, so that make
# release-check can run the arm64 binary on an amd64 machine. binfmt_misc need not be
# registered: the spec runs qemu-aarch64-static explicitly.
set -euo pipefail
if command -v qemu-aarch64-static >/dev/null; then
	exit 0
fi
if ! command -v apt-get >/dev/null; then
	echo "install-qemu-user-static: qemu-aarch64-static is missing and there is no apt-get: install qemu-user-static (or qemu-user) yourself" >&2
	exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
echo "install-qemu-user-static: installing qemu-user-static with apt-get (once per machine)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends qemu-user-static >/dev/null ||
	{ $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends qemu-user-static >/dev/null; }
command -v qemu-aarch64-static >/dev/null
