# Steadystate developer commands. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO          ?= go
PYTHON      ?= python3
# 20m: the cluster tests (internal/testkit/clustertest) took 13.4 min of one
# package, the cluster's start included, on a 2-core machine under a load
# average of ~20 (the same-answers test 6.6 min of it); the packages run in
# parallel.
GOTESTFLAGS ?= -race -count=1 -timeout 20m
GOLANGCI    ?= $(shell command -v golangci-lint || echo $(HOME)/go/bin/golangci-lint)
GOLANGCI_VERSION := v2.15.0
# The independent OTLP client of the compare acceptance test.
TELEMETRYGEN := github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@v0.161.0

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# CLUSTER=1: the up/down/status targets manage the local scale-out cluster
# (deploy/local/cluster: ZooKeeper, 3 Kafka brokers, ClickHouse 2 shards x 2
# replicas, 2 serves, 2 sinks) instead of the single-node stack.
CLUSTER ?=

.PHONY: up
up: ## install (when missing) and start Kafka and ClickHouse on loopback (CLUSTER=1: the scale-out cluster)
	@bash deploy/local/up.sh
	@if [ -n "$(CLUSTER)" ]; then bash deploy/local/cluster/up.sh; fi

.PHONY: down
down: ## stop what `make up` started (WIPE=1 also deletes the data; CLUSTER=1: only the cluster)
	@if [ -n "$(CLUSTER)" ]; then bash deploy/local/cluster/down.sh; else bash deploy/local/down.sh; fi

.PHONY: status
status: ## show whether Kafka and ClickHouse run and answer (CLUSTER=1: every process of the cluster)
	@if [ -n "$(CLUSTER)" ]; then bash deploy/local/cluster/status.sh; else bash deploy/local/status.sh; fi

.PHONY: pydeps
pydeps: ## install the Python packages the tests use (chDB for the SQL cross-check)
	@bash scripts/pydeps.sh

.PHONY: jsdeps
jsdeps: ## install the npm packages of the JavaScript SDK acceptance test, once, into the state dir
	@bash scripts/jsdeps.sh >/dev/null

.PHONY: sysdeps
sysdeps: ## install the Debian packages the tests use (chromium for the report screenshot test)
	@bash scripts/sysdeps.sh

.PHONY: demo
demo: ## the whole game day on this machine: stack, ingest, a simulated system, live view, report and backlog (out/demo)
	@bash scripts/demo.sh

.PHONY: build
build: ## build bin/ingest, bin/analyze and bin/demo
	$(GO) build -o bin/ ./cmd/...

.PHONY: migrate
migrate: up build ## apply the ClickHouse schema
	bin/analyze migrate

.PHONY: unit
unit: ## unit tests only (no Kafka or ClickHouse needed)
	$(GO) test $(GOTESTFLAGS) ./...

# `make test` runs the scale-out cluster tests too, on a cluster their
# TestMain starts in a fresh directory (STEADYSTATE_CLUSTER_DIR) and this
# recipe stops and removes at the end, whatever the outcome. The cluster's
# ports are fixed, so a cluster started by `make up CLUSTER=1` must be
# stopped first (`make down CLUSTER=1`); its start then fails naming the port.
.PHONY: test
test: up pydeps jsdeps sysdeps tools ## the test suite: unit and integration tests on the real stack and the scale-out cluster, SQL cross-check on 18.16 and chDB
	@export STEADYSTATE_CLUSTER_DIR=$$(mktemp -d "$${TMPDIR:-/tmp}/steadystate-cluster.XXXXXX"); \
	trap 'bash deploy/local/cluster/down.sh >/dev/null 2>&1 || true; rm -rf "$$STEADYSTATE_CLUSTER_DIR"' EXIT; \
	echo "cluster tests: state in $$STEADYSTATE_CLUSTER_DIR"; \
	$(GO) test $(GOTESTFLAGS) -tags integration ./...

.PHONY: test-cluster
test-cluster: up pydeps ## only the scale-out cluster tests; they start the cluster's engines when missing and leave them running
	$(GO) test $(GOTESTFLAGS) -tags integration ./internal/testkit/clustertest/...

.PHONY: tools
tools: ## install the pinned test tools (telemetrygen) when missing
	@command -v telemetrygen >/dev/null || test -x "$$($(GO) env GOPATH)/bin/telemetrygen" || GOFLAGS= $(GO) install $(TELEMETRYGEN)

.PHONY: soak
soak: up pydeps ## the ingest fault tests at about 1M events
	STEADYSTATE_SOAK_EVENTS=1000000 $(GO) test -tags integration -timeout 60m -run 'TestSink|TestServe' -v ./cmd/ingest/

.PHONY: bench-ingest
bench-ingest: up migrate ## end-to-end ingest throughput, CPU and latency vs the Kafka engine and a direct insert
	$(GO) run ./internal/bench/ingestbench $(INGESTBENCH_FLAGS)

.PHONY: bench-cluster
bench-cluster: up ## ingest events/s and CPU-s per 1M events: single node vs the cluster with 1/2 serves and 1/2 sinks (starts the cluster)
	@bash deploy/local/cluster/up.sh
	$(GO) run ./internal/bench/clusterbench

.PHONY: bench-compare
bench-compare: up ## analyze compare over 10M events (view part, sample, whole) and the CPU of 20 live watchers
	$(GO) run ./internal/bench/comparebench

.PHONY: stats-harness
stats-harness: ## A/A false-positive rate, power and time to detect of the live monitor (10,000 runs per scenario; -runs via ARGS)
	$(GO) run ./cmd/statsharness $(ARGS)

.PHONY: lint
lint: ## gofmt, go vet and golangci-lint
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet -tags integration ./...
	@test -x "$(GOLANGCI)" || GOFLAGS= $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	$(GOLANGCI) run --build-tags integration ./...

.PHONY: tidy
tidy: ## go mod tidy
	$(GO) mod tidy

.PHONY: clean
clean: ## remove build output (not the stack's state: see `make down WIPE=1`)
	rm -rf bin out

.PHONY: bench-flows
bench-flows: up migrate ## flow check: sweep over 100k in-flight items, detection delay to a real Alertmanager
	$(GO) run ./internal/bench/flowsbench
