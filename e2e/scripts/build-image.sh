#!/usr/bin/env bash
# Builds runwire's container image from the repository's unchanged Dockerfile with podman, on a
# machine without a Docker engine and without a registry. Prints the image's tag on stdout.
# Idempotent and locked: a second run reuses the cached root file system, the base images and
# podman's layer cache; two runs at once wait for each other.
#
# Why each step (docs/e2e.md, "The container runs", has the long form):
#   - podman, runc and debootstrap come from Debian's mirror when missing (CI is a fresh
#     machine). crun and podman's default ulimits are refused on cgroup-v1-hybrid hosts, so every
#     podman call names runc and explicit ulimits.
#   - No registry: the Dockerfile's base images are made here under the exact names its FROM
#     lines use. debian:bookworm-slim is a debootstrap minbase root file system of the host's
#     Debian mirror (cached as a tarball keyed by suite, variant, mirror and architecture),
#     imported with `podman import`; golang:1.26-bookworm is that image plus the host's own Go
#     (GOROOT copied to /usr/local/go, as in the official image). An image of either name that
#     this script did not make (one pulled from a registry) is used as it is.
#   - The build stage compiles with the host's module and build caches mounted and GOPROXY=off,
#     so no module proxy has to be reachable from inside podman; the runtime stage's apt-get
#     reaches Debian's mirror through the host's network (--network host).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TAG="${RUNWIRE_IMAGE_TAG:-runwire:e2e}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/runwire"
SUITE=bookworm
VARIANT=minbase
BASE_IMAGE=debian:bookworm-slim  # the Dockerfile's BASE_IMAGE default
GO_IMAGE=golang:1.26-bookworm     # the Dockerfile's GO_IMAGE default
PODMAN=(podman --runtime runc)
ULIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)

log() { echo "build-image: $*" >&2; }
die() { log "$*"; exit 1; }

[[ $(id -u) == 0 ]] || die "the image is built with rootful podman (runc; a rootless podman needs a delegated cgroup v2) and podman is installed with apt-get: run as root"

mkdir -p "$CACHE"
exec 9>"$CACHE/container-image.lock"
if ! flock -n 9; then
	log "another image build is running; waiting for it"
	flock 9
fi
start=$(date +%s)

# The Dockerfile and this script must agree on the base images' names.
for name in "$BASE_IMAGE" "$GO_IMAGE"; do
	grep -q "^ARG [A-Z_]*IMAGE=$name\$" "$ROOT/Dockerfile" ||
		die "the Dockerfile no longer defaults an image ARG to $name; update BASE_IMAGE/GO_IMAGE in $0"
done

# 1. The tools.
missing=()
for tool in podman runc debootstrap; do
	command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
	log "installing ${missing[*]} from Debian's mirror"
	t=$(date +%s)
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends podman runc debootstrap >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends podman runc debootstrap >&2; }
	log "installed in $(($(date +%s) - t)) s"
fi

# 2. The base root file system, cached.
mirror=$(awk '/^URIs:/ && /debian\/?$/ {print $2; exit} /^deb / && $3 == "'$SUITE'" {print $2; exit}' \
	/etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true)
mirror="${RUNWIRE_DEBIAN_MIRROR:-${mirror:-http://deb.debian.org/debian}}"
arch=$(dpkg --print-architecture)
key=$(printf '%s\n' "$SUITE" "$VARIANT" "$mirror" "$arch" "trim-1" | sha256sum | cut -c1-12)
rootfs="$CACHE/rootfs/debian-$SUITE-$VARIANT-$arch-$key.tar"
if [[ ! -f "$rootfs" ]]; then
	log "debootstrap $SUITE ($VARIANT, $arch) from $mirror into $rootfs (once per machine)"
	t=$(date +%s)
	mkdir -p "$CACHE/rootfs"
	dir=$(mktemp -d "$CACHE/rootfs/debootstrap.XXXXXX")
	trap 'rm -rf "$dir"' EXIT
	debootstrap --variant="$VARIANT" --arch="$arch" "$SUITE" "$dir/root" "$mirror" >&2
	# As the -slim images: no package caches, lists, docs or man pages.
	rm -rf "$dir"/root/var/cache/apt/*.bin "$dir"/root/var/lib/apt/lists/* "$dir"/root/var/log/* \
		"$dir"/root/usr/share/doc/* "$dir"/root/usr/share/man/* "$dir"/root/usr/share/info/*
	tar --numeric-owner --xattrs -C "$dir/root" -cf "$dir/rootfs.tar" .
	mv "$dir/rootfs.tar" "$rootfs"
	rm -rf "$dir"
	trap - EXIT
	log "root file system made in $(($(date +%s) - t)) s ($(du -h "$rootfs" | cut -f1))"
fi

label() { "${PODMAN[@]}" image inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }

# 3. debian:bookworm-slim from that tarball, unless a real one is there.
if ! "${PODMAN[@]}" image exists "$BASE_IMAGE" || [[ -n $(label "$BASE_IMAGE" runwire.rootfs) && $(label "$BASE_IMAGE" runwire.rootfs) != "$key" ]]; then
	log "importing $rootfs as $BASE_IMAGE"
	t=$(date +%s)
	"${PODMAN[@]}" import --change "LABEL runwire.rootfs=$key" --change 'CMD ["bash"]' \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		"$rootfs" "$BASE_IMAGE" >&2
	log "imported in $(($(date +%s) - t)) s"
fi

# 4. golang:1.26-bookworm: that image plus the host's Go, unless a real one is there.
goroot=$(go env GOROOT 2>/dev/null) || die "go is needed on the host to make $GO_IMAGE (Go 1.26)"
gover=$(go env GOVERSION)
[[ $gover == go1.26* ]] || die "the host's Go is $gover; $GO_IMAGE needs Go 1.26"
gokey="$gover-$key"
if ! "${PODMAN[@]}" image exists "$GO_IMAGE" || [[ -n $(label "$GO_IMAGE" runwire.go) && $(label "$GO_IMAGE" runwire.go) != "$gokey" ]]; then
	log "making $GO_IMAGE from $BASE_IMAGE and the host's $gover ($goroot)"
	t=$(date +%s)
	"${PODMAN[@]}" build "${ULIMITS[@]}" --network none --pull=never --layers=false -t "$GO_IMAGE" \
		-f - "$(dirname "$goroot")" >&2 <<EOF
FROM $BASE_IMAGE
COPY $(basename "$goroot") /usr/local/go
ENV GOPATH=/go GOTOOLCHAIN=local PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL runwire.go=$gokey
WORKDIR /go
EOF
	log "made in $(($(date +%s) - t)) s"
fi

# 5. The image, from the unchanged Dockerfile.
modcache=$(go env GOMODCACHE)
gocache=$(go env GOCACHE)
mkdir -p "$modcache" "$gocache"
# The build runs with GOPROXY=off, so the mounted cache must already hold every module: on a
# fresh machine nothing has filled it yet (go test would, but this script may run first).
(cd "$ROOT" && go mod download)
version=$(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || echo dev)
commit=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
log "building $TAG (runwire $version)"
t=$(date +%s)
"${PODMAN[@]}" build "${ULIMITS[@]}" --pull=never --network host --format docker \
	--volume "$modcache:/go/pkg/mod" --volume "$gocache:/root/.cache/go-build" \
	--build-arg GOPROXY=off --build-arg VERSION="$version" --build-arg COMMIT="$commit" \
	-t "$TAG" "$ROOT" >&2
# Earlier builds' images, now untagged, would pile up: remove those made from our base images.
"${PODMAN[@]}" image prune --force --filter "label=runwire.rootfs=$key" >/dev/null
log "built $TAG in $(($(date +%s) - t)) s (all steps: $(($(date +%s) - start)) s)"
echo "$TAG"
