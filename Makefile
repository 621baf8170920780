# metamint: `make demo` and `make test` are all a newcomer needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
TOOLS     := $(CURDIR)/.tools/bin
VENV      := $(CURDIR)/.tools/venv
export PATH := $(TOOLS):$(VENV)/bin:$(PATH)
export GOFLAGS := -buildvcs=false

ACTIONLINT_VERSION    := v1.7.12
RIE_VERSION           := v0.0.0-20261030222936-bef5c4ba774d
GOLANGCI_LINT_VERSION := v2.15.0
GORELEASER_VERSION    := v2.15.1
# The Python tools, pinned; scripts/python-tools.sh installs into .tools/venv only those missing from PATH.
export MOTO_VERSION     := 5.2.1
export CFN_LINT_VERSION := 1.51.0
export PYYAML_VERSION   := 6.0.3
# A budget in executions, not in seconds: Go 1.26's fuzz coordinator can
# report "context deadline exceeded" when a time budget ends while a worker
# is busy on a loaded machine (go.dev/issue/75804, fixed in Go 1.27); a
# count has no deadline to race. 50000 takes 3 to 6 seconds here.
FUZZTIME           ?= 50000x

.PHONY: help
help: ## list every target
	@grep -E '^[A-Za-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'

.PHONY: tools
tools: $(TOOLS)/actionlint $(TOOLS)/aws-lambda-rie $(TOOLS)/golangci-lint $(TOOLS)/goreleaser python-tools ## install or check every tool the tests need

$(TOOLS)/actionlint:
	GOBIN=$(TOOLS) $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

$(TOOLS)/aws-lambda-rie:
	GOBIN=$(TOOLS) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

$(TOOLS)/golangci-lint:
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

$(TOOLS)/goreleaser:
	GOBIN=$(TOOLS) $(GO) install github.com/goreleaser/goreleaser/v2@$(GORELEASER_VERSION)

# moto_server, cfn-lint and PyYAML (for scripts/check-dependabot.py): found on PATH, or installed at the
# pinned versions into .tools/venv (needs python3 and PyPI). Installs nothing when all are there.
.PHONY: python-tools
python-tools: ## moto_server, cfn-lint and PyYAML: from PATH, or pinned into .tools/venv (make tools runs it)
	@VENV=$(VENV) scripts/python-tools.sh install

.PHONY: deps
deps: ## download Go modules
	$(GO) mod download
	$(GO) mod verify

# VERSION names the builds (internal/version): `metamint version` and the Lambda's "run done" record say
# it. GOFLAGS above keeps go build from reading Git, so the name comes from here.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
LDFLAGS = -s -w -X github.com/metamint/metamint/internal/version.release=$(VERSION)

.PHONY: build
build: deps ## build the CLI, the action and the Lambda bootstrap into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/metamint ./cmd/metamint
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/action ./cmd/action
	GOOS=linux CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags '$(LDFLAGS)' -o bin/bootstrap ./cmd/lambda

# sam build runs this target for MetamintFunction (deploy/template.yaml,
# BuildMethod: makefile) with ARTIFACTS_DIR set. The function is arm64 only
# (the template's Architectures), so this builds arm64 only.
.PHONY: build-MetamintFunction
build-MetamintFunction: ## the Lambda bootstrap into ARTIFACTS_DIR, for sam build (deploy/template.yaml)
	$(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set; sam build sets it))
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags '$(LDFLAGS)' -o $(ARTIFACTS_DIR)/bootstrap ./cmd/lambda

# golangci-lint holds one lock per machine: --allow-serial-runners waits for
# another checkout's run rather than failing.
.PHONY: lint
lint: tools ## gofmt, go vet, golangci-lint, actionlint, cfn-lint, dependabot.yml, goreleaser check, docs, script tests
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:" $$unformatted >&2; exit 1; fi
	$(GO) vet ./...
	golangci-lint run --allow-serial-runners ./...
	actionlint
	cfn-lint --include-checks I --include-experimental --configure-rule E3012:strict=true I3042:region=true I3042:accountId=true -- deploy/*.yaml
	python3 scripts/check-dependabot.py .github/dependabot.yml
	goreleaser check
	scripts/python-tools_test.sh
	python3 scripts/check-docs_test.py
	python3 scripts/check-docs.py

# The docs check alone (make lint runs it too).
.PHONY: docs-check
docs-check: ## prose blocks of at most 600 characters and resolving links in README.md and docs/
	python3 scripts/check-docs.py

# golangci-lint with .golangci.yml alone (make lint runs it too).
.PHONY: golangci
golangci: $(TOOLS)/golangci-lint ## golangci-lint (staticcheck, errcheck, govet, gosec, revive)
	golangci-lint run --allow-serial-runners ./...

# A local snapshot build of the release, for this platform only, into dist/ (gitignored).
.PHONY: snapshot
snapshot: $(TOOLS)/goreleaser ## goreleaser snapshot build of the CLI for this platform into dist/
	goreleaser build --snapshot --clean --single-target

.PHONY: test
test: deps tools lint snapshot ## every test: vet, lint, a release snapshot build, race-enabled shuffled tests, a short fuzz pass, the demo
	$(GO) test -race -shuffle=on -count=1 ./...
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory demo-check

.PHONY: demo-check
demo-check: deps ## the demo as a test: its transcript is shown only when it fails
	@log=$$(mktemp); if ./scripts/demo.sh >"$$log" 2>&1; then echo "demo: ok"; rm -f "$$log"; \
	else status=$$?; cat "$$log"; rm -f "$$log"; echo "demo: failed (exit status $$status)" >&2; exit 1; fi

.PHONY: fuzz
fuzz: ## a short pass of every fuzz target (FUZZTIME=50000x executions)
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

.PHONY: demo
demo: deps ## mint a token through the CLI against the bundled emulator
	./scripts/demo.sh

# Scenario sizes (go run ./bench/scenarios -h lists every flag). The full set
# takes about twenty minutes here, (e) most of it: 10,000 secrets at the
# Secrets Manager write quota; bench-quick about two minutes.
BENCH_FLAGS       ?= -only a,b,c,d,e -secrets 1000 -sample 100 -latency 200ms -concurrency 16 -rate 400/10s -starts 11 -action-runs 31 \
	-quota-secrets 10000 -quota-rate 50 -write-rate 45 -squeeze-secrets 1000 -squeeze-timeout 1m
BENCH_QUICK_FLAGS ?= -only a,b,c,d,e -secrets 60 -sample 10 -latency 50ms -concurrency 16 -rate 80/2s -starts 3 -action-runs 5 \
	-quota-secrets 60 -quota-rate 10 -write-rate 9 -squeeze-secrets 60 -squeeze-timeout 30s

.PHONY: bench
bench: deps tools ## Go benchmarks and scenario benchmarks (tables for BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/... ./cmd/action/
	$(GO) run ./bench/scenarios $(BENCH_FLAGS)

.PHONY: bench-quick
bench-quick: deps tools ## a smoke run of make bench: one pass of each Go benchmark, small scenarios
	$(GO) test -run '^$$' -bench . -benchtime 1x -benchmem ./pkg/... ./cmd/action/
	$(GO) run ./bench/scenarios $(BENCH_QUICK_FLAGS)
