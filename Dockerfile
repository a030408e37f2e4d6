# runwire as n8n's Python task runner in external mode: a sidecar that connects to n8n's task
# broker (N8N_RUNNERS_TASK_BROKER_URI) with N8N_RUNNERS_AUTH_TOKEN and runs Python Code nodes.
#
#   docker build -t runwire .
#   docker run --read-only --tmpfs /tmp -e N8N_RUNNERS_TASK_BROKER_URI=http://n8n:5679 \
#     -e N8N_RUNNERS_AUTH_TOKEN=... runwire
#
# Two stages: the Go build (golang:1.26-bookworm), then Debian's slim image with Debian's python3,
# tini as PID 1 (it forwards signals to runwire and reaps what tasks leave behind) and runwire,
# run as the unprivileged user 10001. The base images are build arguments so a mirror or a pinned
# digest can be given (--build-arg BASE_IMAGE=debian:bookworm-slim@sha256:...).
#
# CI builds this same file without a registry: e2e/scripts/build-image.sh makes images named
# golang:1.26-bookworm and debian:bookworm-slim from a debootstrap root file system (plus the
# host's Go), mounts the host's Go module and build caches over /go/pkg/mod and
# /root/.cache/go-build with --build-arg GOPROXY=off, and builds with --network host so apt-get
# reaches Debian's mirror. Nothing here differs between that build and `docker build .`.

ARG GO_IMAGE=golang:1.26-bookworm
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${GO_IMAGE} AS build
# The module proxy (GOPROXY=off when every module is in a mounted cache), runwire's version and
# commit (`runwire version` prints them).
ARG GOPROXY
ARG VERSION=dev
ARG COMMIT=unknown
WORKDIR /src
COPY . .
# A static binary (no cgo): it runs on any Linux of the architecture, and the image needs no libc
# of a particular version for it.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/runwire ./cmd/runwire \
 && /out/runwire version

FROM ${BASE_IMAGE}
# python3 is Debian's (3.11 in bookworm), the interpreter runwire's tasks run in; tini is PID 1.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && useradd --uid 10001 --user-group --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin runwire
COPY --from=build /out/runwire /usr/local/bin/runwire

# The health server is on, on every address of the container, so the HEALTHCHECK below and
# an orchestrator's probes (Kubernetes: /healthz liveness, /readyz readiness) reach it.
ENV RUNWIRE_PYTHON=/usr/bin/python3 \
    N8N_RUNNERS_HEALTH_CHECK_SERVER_ENABLED=true \
    N8N_RUNNERS_HEALTH_CHECK_SERVER_HOST=0.0.0.0 \
    N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT=5681
EXPOSE 5681

# Numeric, so Kubernetes' runAsNonRoot can check it. runwire writes only under /tmp (its runtime
# directory, the tasks' temp dirs): with a read-only root file system, mount a tmpfs there.
USER 10001:10001
WORKDIR /tmp

# python3 is the one HTTP client in the image; it reads the port the container was given.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["python3", "-I", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('N8N_RUNNERS_HEALTH_CHECK_SERVER_PORT', '5681'), timeout=4)"]

ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/runwire"]
CMD ["run"]
