# runwire: build, test and check. `make check` is what CI runs (.ci/run), the same here and there.

GO            ?= go
BIN           := bin
LINT_VERSION  := v2.15.0
TOOLS         := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/runwire/tools
LINT          := $(TOOLS)/golangci-lint-$(LINT_VERSION)
VERSION       := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT        := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS       := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: all build test walls-unprivileged walls-matrix check e2e e2e-container e2e-queue demo demo-down bench fmt-check vet lint docs clean run release release-check

all: build

build: ## Build bin/runwire.
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/runwire ./cmd/runwire

test: ## The unit and integration specs (loopback broker), race detector on: about a minute; then the walls specs as a plain user.
	$(GO) test -race -count=1 ./...
	$(MAKE) walls-unprivileged
	$(MAKE) walls-matrix

SPEC_USER := runwire-spec
SPEC_PYTHON := /usr/bin/python3

# The walls specs (Label "walls") as an unprivileged user: as root, a user without a home or a
# login shell is created once (CI runs as root on a fresh machine), the spec binary is built
# into a world-readable temporary directory and run there as that user, with Debian's Python
# (pyenv's, under /root, is out of a plain user's reach). Not root: the same as this user.
walls-unprivileged: ## The walls specs as an unprivileged user (30 s to a minute more).
	@set -e; dir=$$(mktemp -d /tmp/runwire-walls-XXXXXX); trap 'rm -rf "$$dir"' EXIT; \
	chmod a+rx "$$dir"; \
	$(GO) test -race -c -o "$$dir/python.test" ./specs/python/; \
	mkdir "$$dir/home"; \
	if [ "$$(id -u)" = 0 ]; then \
		id -u $(SPEC_USER) >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin $(SPEC_USER); \
		chown $(SPEC_USER): "$$dir/home"; \
		run="setpriv --reuid=$(SPEC_USER) --regid=$(SPEC_USER) --init-groups --"; \
		echo "walls specs as $(SPEC_USER), unprivileged"; \
	else \
		run=""; echo "walls specs as $$(id -un): not root, so no other user to switch to"; \
	fi; \
	cd "$$dir" && env -i PATH=/usr/bin:/bin HOME="$$dir/home" TMPDIR="$$dir/home" RUNWIRE_PYTHON=$(SPEC_PYTHON) \
		$$run ./python.test -test.count=1 -ginkgo.label-filter=walls

# The walls specs in the environments this machine is not, simulated by cmd/runwire-jail (a
# seccomp filter around the spec binary, so runwire and its Python inherit it): Docker's
# default profile as an unprivileged user (no namespaces, clone3 ENOSYS), a kernel without
# Landlock (as root), and both (unprivileged). RUNWIRE_SPECS_WALLS=best-effort lets the rigs
# run with what is left; RUNWIRE_SPECS_ENV names the environment in the specs' output. The
# specs probe the environment themselves and check the start-up line against it
# (specs/python/environments_test.go). The table in docs/python-executor.md is what they show.
WALLS_MATRIX ?= docker:unprivileged nolandlock:root docker,nolandlock:unprivileged

walls-matrix: ## The walls specs under a Docker-like profile and without Landlock (a minute or two more).
	@set -e; dir=$$(mktemp -d /tmp/runwire-matrix-XXXXXX); trap 'rm -rf "$$dir"' EXIT; \
	chmod a+rx "$$dir"; \
	$(GO) test -race -c -o "$$dir/python.test" ./specs/python/; \
	$(GO) build -o "$$dir/runwire-jail" ./cmd/runwire-jail; \
	mkdir "$$dir/home"; failed=""; \
	for env in $(WALLS_MATRIX); do \
		profile=$${env%%:*}; who=$${env##*:}; run=""; \
		if [ "$$who" = unprivileged ] && [ "$$(id -u)" = 0 ]; then \
			id -u $(SPEC_USER) >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin $(SPEC_USER); \
			chown $(SPEC_USER): "$$dir/home"; \
			run="setpriv --reuid=$(SPEC_USER) --regid=$(SPEC_USER) --init-groups --"; \
		else \
			chown "$$(id -u):$$(id -g)" "$$dir/home"; \
		fi; \
		echo "walls specs under the $$profile profile, as $$who ($$(if [ -n "$$run" ]; then echo $(SPEC_USER); else id -un; fi))"; \
		(cd "$$dir" && env -i PATH=/usr/bin:/bin HOME="$$dir/home" TMPDIR="$$dir/home" RUNWIRE_PYTHON=$(SPEC_PYTHON) \
			RUNWIRE_SPECS_WALLS=best-effort RUNWIRE_SPECS_ENV="$$profile-$$who" \
			$$run ./runwire-jail -profile "$$profile" -- ./python.test -test.count=1 -ginkgo.label-filter=walls) || failed="$$failed $$env"; \
	done; \
	if [ -n "$$failed" ]; then echo "walls specs failed under:$$failed"; exit 1; fi

check: fmt-check vet lint test release-check e2e e2e-container ## Everything CI runs: the checks, the specs, then the real-n8n suite and the container runs (not yet e2e-queue: README).

N8N_INSTALL := e2e/scripts/install-n8n.sh
PANDAS_INSTALL := e2e/scripts/install-python-pandas.sh

RELEASE_ARCHS := amd64 arm64

release: ## Static (no cgo) linux/amd64 and linux/arm64 binaries, version and commit baked in, and dist/SHA256SUMS.
	rm -rf dist
	@mkdir -p dist
	for arch in $(RELEASE_ARCHS); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o dist/runwire-linux-$$arch ./cmd/runwire || exit 1; \
	done
	cd dist && sha256sum runwire-linux-* > SHA256SUMS

release-check: release ## The release binaries: static, checksummed, and the arm64 one starts and registers under qemu-user-static (installed once with apt-get).
	.ci/install-qemu-user-static.sh
	RUNWIRE_RELEASE_DIR=$(CURDIR)/dist RUNWIRE_RELEASE_VERSION=$(VERSION) RUNWIRE_RELEASE_COMMIT=$(COMMIT) \
		$(GO) test -count=1 ./specs/release/

e2e: ## runwire in a real n8n (specs/e2e). Installs n8n once per machine into ~/.cache/runwire (about 4-7 minutes, 3 GB), and Debian's python3-pandas.
	$(N8N_INSTALL) >/dev/null
	$(PANDAS_INSTALL) >/dev/null
	@mkdir -p $(BIN)
	RUNWIRE_E2E_REPORT=$(CURDIR)/$(BIN)/e2e-roundtrip.md $(GO) test -race -count=1 -tags e2e -timeout 30m ./specs/e2e/ -args -ginkgo.label-filter='e2e && !container' $(E2E_FLAGS)
	@echo "Webhook round trip in a real n8n ($(BIN)/e2e-roundtrip.md):"; cat $(BIN)/e2e-roundtrip.md

e2e-container: ## The Dockerfile's image under podman as n8n's Python runner (specs/e2e, label container). As root; 4-9 minutes the first time on a machine (podman, debootstrap), then 1-3.5.
	$(N8N_INSTALL) >/dev/null
	$(GO) test -race -count=1 -tags e2e -timeout 30m ./specs/e2e/ -args -ginkgo.label-filter=container $(E2E_FLAGS)

QUEUE_DEPS := e2e/scripts/install-queue-deps.sh

e2e-queue: ## n8n in queue mode (PostgreSQL, Redis, 2 workers, a runwire each): 500-execution loads and faults (specs/e2equeue), about 5 minutes.
	$(N8N_INSTALL) >/dev/null
	$(QUEUE_DEPS) >/dev/null
	@mkdir -p $(BIN)
	RUNWIRE_QUEUE_REPORT=$(CURDIR)/$(BIN)/e2e-queue.md RUNWIRE_QUEUE_LOGS=$(CURDIR)/$(BIN)/e2e-queue-logs $(GO) test -count=1 -tags e2e -timeout 25m ./specs/e2equeue/ -args -ginkgo.label-filter=e2e-queue -ginkgo.timeout=20m $(E2E_FLAGS)
	@echo "n8n in queue mode ($(BIN)/e2e-queue.md):"; cat $(BIN)/e2e-queue.md

demo: build ## Install n8n if missing, start it and runwire, run a sample Python Code node; both keep running.
	$(GO) build -o $(BIN)/runwire-demo ./cmd/runwire-demo
	$(BIN)/runwire-demo up --runwire $(BIN)/runwire --install $(N8N_INSTALL)

demo-down: ## Stop the n8n and runwire that `make demo` left running.
	$(GO) build -o $(BIN)/runwire-demo ./cmd/runwire-demo
	$(BIN)/runwire-demo down

bench: build ## Benchmarks: the Go task round trip (no-op executor), then bin/runwire end to end over a loopback broker (docs/performance.md).
	$(GO) test -run '^$$' -bench . -benchtime 20000x ./tasks/
	$(GO) build -o $(BIN)/runwire-bench ./cmd/runwire-bench
	$(PANDAS_INSTALL) || echo "bench: no pandas for /usr/bin/python3: the preload cases are skipped"
	$(BIN)/runwire-bench --runwire $(BIN)/runwire $(BENCH_FLAGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet -tags e2e ./...

lint: $(LINT)
	$(LINT) run --build-tags e2e ./...

# golangci-lint is built from source through the Go module proxy, once per machine.
$(LINT):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(LINT_VERSION)
	mv $(TOOLS)/golangci-lint $(LINT)

docs: ## Regenerate docs/state-machine.md from the edge table.
	$(GO) run ./cmd/runwire diagram --markdown > docs/state-machine.md

run: build ## Run against the broker in N8N_RUNNERS_TASK_BROKER_URI.
	$(BIN)/runwire

clean:
	rm -rf $(BIN)
