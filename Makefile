# metamint: `make demo` and `make test` are all a newcomer needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
TOOLS     := $(CURDIR)/.tools/bin
export PATH := $(TOOLS):$(PATH)
export GOFLAGS := -buildvcs=false

ACTIONLINT_VERSION := v1.7.12
RIE_VERSION        := v0.0.0-20261030222936-bef5c4ba774d
FUZZTIME           ?= 5s

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.PHONY: tools
tools: $(TOOLS)/actionlint $(TOOLS)/aws-lambda-rie check-python-tools ## install or check every tool the tests need

$(TOOLS)/actionlint:
	GOBIN=$(TOOLS) $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

$(TOOLS)/aws-lambda-rie:
	GOBIN=$(TOOLS) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

.PHONY: check-python-tools
check-python-tools:
	@missing=""; \
	command -v moto_server >/dev/null || missing="$$missing moto_server(pip: moto[server]==5.2.*)"; \
	command -v cfn-lint >/dev/null || missing="$$missing cfn-lint(pip: cfn-lint)"; \
	if [ -n "$$missing" ]; then echo "make: missing tools:$$missing" >&2; exit 1; fi

.PHONY: deps
deps: ## download Go modules
	$(GO) mod download
	$(GO) mod verify

.PHONY: build
build: deps ## build the CLI, the action and the Lambda bootstrap into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/metamint ./cmd/metamint
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/action ./cmd/action
	GOOS=linux CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags '-s -w' -o bin/bootstrap ./cmd/lambda

# sam build runs this target for MetamintFunction (deploy/template.yaml,
# BuildMethod: makefile) with ARTIFACTS_DIR set. LAMBDA_GOARCH=amd64 for an
# x86_64 function.
LAMBDA_GOARCH ?= arm64

.PHONY: build-MetamintFunction
build-MetamintFunction:
	$(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set; sam build sets it))
	GOOS=linux GOARCH=$(LAMBDA_GOARCH) CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags '-s -w' -o $(ARTIFACTS_DIR)/bootstrap ./cmd/lambda

.PHONY: lint
lint: tools ## gofmt, go vet, actionlint, cfn-lint
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:" $$unformatted >&2; exit 1; fi
	$(GO) vet ./...
	actionlint
	cfn-lint deploy/*.yaml

.PHONY: test
test: deps tools lint ## every test: vet, lint, race-enabled shuffled tests, a short fuzz pass
	$(GO) test -race -shuffle=on -count=1 ./...
	$(MAKE) --no-print-directory fuzz

.PHONY: fuzz
fuzz: ## a short pass of every fuzz target (FUZZTIME=5s)
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
# takes about five minutes here; bench-quick about a minute.
BENCH_FLAGS       ?= -only a,b,c,d -secrets 1000 -sample 100 -latency 200ms -concurrency 16 -rate 400/10s -starts 11 -action-runs 31
BENCH_QUICK_FLAGS ?= -only a,b,c,d -secrets 60 -sample 10 -latency 50ms -concurrency 16 -rate 80/2s -starts 3 -action-runs 5

.PHONY: bench
bench: deps tools ## Go benchmarks and scenario benchmarks (tables for BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/... ./cmd/action/
	$(GO) run ./bench/scenarios $(BENCH_FLAGS)

.PHONY: bench-quick
bench-quick: deps tools ## a smoke run of make bench: one pass of each Go benchmark, small scenarios
	$(GO) test -run '^$$' -bench . -benchtime 1x -benchmem ./pkg/... ./cmd/action/
	$(GO) run ./bench/scenarios $(BENCH_QUICK_FLAGS)
