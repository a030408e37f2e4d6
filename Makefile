# runwire: build, test and check. `make check` is what CI runs (.ci/run), the same here and there.

GO            ?= go
BIN           := bin
LINT_VERSION  := v2.15.0
TOOLS         := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/runwire/tools
LINT          := $(TOOLS)/golangci-lint-$(LINT_VERSION)
VERSION       := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build test check bench fmt-check vet lint docs clean run

all: build

build: ## Build bin/runwire.
	$(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN)/runwire ./cmd/runwire

test: ## Every spec and test, race detector on.
	$(GO) test -race -count=1 ./...

check: fmt-check vet lint test ## What CI runs.

bench: build ## Benchmarks: the Go task round trip (no-op executor), then bin/runwire end to end over a loopback broker (docs/performance.md).
	$(GO) test -run '^$$' -bench . -benchtime 20000x ./tasks/
	$(GO) build -o $(BIN)/runwire-bench ./cmd/runwire-bench
	$(BIN)/runwire-bench --runwire $(BIN)/runwire $(BENCH_FLAGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

lint: $(LINT)
	$(LINT) run ./...

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
