# The two commands of the quick start are `make run` and `make test`; the rest serve them.
SHELL := /bin/bash
GO ?= go
GOTEST_FLAGS ?= -race -count=1 -timeout 45m

.PHONY: run test stack stack-down stack-status stack-cluster stack-cluster-down chaos build vet chart unit bench fuzz fuzz-api

## run: start the local stack, migrate, and serve the API (prints its URL).
## `make run SEED=20000` first writes a synthetic history of 20,000 events, for a board
## that is not empty on the first look.
SEED ?= 0
run: stack build
	./bin/jobboard migrate up
	@if [ "$(SEED)" != "0" ]; then ./bin/jobboard seed --events $(SEED) --seed $$(date +%s); \
	else echo "tip: make run SEED=20000 fills the board with a synthetic history first"; fi
	./bin/jobboard serve

## test: start the local stack, then vet and run every test against the real engines; then
## the 200,000-event rebuild-under-queries test without the race detector (under -race it
## runs on 50,000 events); last, the fault tests, which stop and restart the shared engines,
## one package at a time. `chart` comes first: the chart's Go tests run the helm it installs.
test: stack vet chart
	$(GO) test $(GOTEST_FLAGS) ./...
	$(GO) test -count=1 -timeout 15m -run '^TestRebuildPromotesWhileQueriesKeepAnswering$$' ./projections/
	$(GO) test $(GOTEST_FLAGS) -tags faults -p 1 -run '^TestFault' ./...

## stack / stack-down / stack-status: the real engines on loopback (see stack/stack.sh)
stack:
	./stack/stack.sh up

stack-down:
	./stack/stack.sh down

stack-status:
	./stack/stack.sh status

## stack-cluster / stack-cluster-down: the replicated engines on other ports (stack/cluster.sh):
## three Kafka brokers, two Elasticsearch data nodes and a tiebreaker, a PostgreSQL primary and
## its streaming replica
stack-cluster:
	./stack/cluster.sh up

stack-cluster-down:
	./stack/cluster.sh down

## chaos: the chaos run against the local cluster (outside `make test`): two processes of every
## role, a steady load through the API for CHAOS_DURATION (default 3m), kill -9 of a Kafka broker,
## an Elasticsearch node, the active relay, a projector, an api instance and the PostgreSQL
## replica; then the checks. It writes docs/CHAOS.md. `make stack-cluster-down` stops the cluster.
chaos: stack-cluster
	$(GO) test -tags chaos -count=1 -timeout 45m -run '^TestChaos$$' -v ./internal/app/

build:
	$(GO) build -o bin/jobboard ./cmd/jobboard

# staticcheck, pinned, installed on first use into the project-local bin/tools (the Go module
# proxy or its cache is all it needs); the version is in the file name so a new pin reinstalls.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := bin/tools/staticcheck-$(STATICCHECK_VERSION)

$(STATICCHECK):
	@mkdir -p bin/tools
	GOBIN=$(CURDIR)/bin/tools $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv bin/tools/staticcheck $@

vet: $(STATICCHECK) # no file is built only without the faults or chaos tags, so this vets every file
	$(GO) vet -tags faults,chaos ./...
	$(STATICCHECK) -tags faults,chaos ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }

## chart: helm lint, and every manifest of the Helm chart (deploy/jobboard) validated offline
## against the Kubernetes schemas; the first run installs helm, kubeconform and the schemas
## into bin/tools/ (deploy/check-chart.sh)
chart:
	./deploy/check-chart.sh

## unit: the tests that need no engine
unit:
	$(GO) test -count=1 ./domain/... ./commands/... ./internal/boundaries/

## bench: the benchmarks behind docs/BENCHMARKS.md (needs the stack). BENCH_OLD is the commit
## whose binary the open-loop search benchmark measures beside the current code: main's
## commit before issue 12.
BENCH_OLD ?= fdfe0bf22c114af7443caedc3d2a7a4909c13921
bench: stack
	$(GO) test -run '^$$' -bench 'Append|RawInsert' -benchtime 5000x ./eventstore/
	$(GO) test -run '^$$' -bench 'RelayThroughput' -benchtime 100000x ./eventstore/
	$(GO) test -run '^$$' -bench 'RelayBacklogToKafka' -benchtime 50000x ./internal/app/
	$(GO) test -run '^$$' -bench 'RelayCommitToKafkaLatency' -benchtime 1000x ./internal/app/
	$(GO) test -run '^$$' -bench 'SearchUnderLoad|GetJobUnderLoad' -benchtime 2000x -timeout 30m ./internal/app/
	$(GO) test -run '^$$' -bench 'Freshness' -benchtime 50x ./internal/app/
	$(GO) test -run '^$$' -bench '^BenchmarkSearch$$/' -benchtime 500x ./readmodels/
	JOBBOARD_BENCH_OLD=$(BENCH_OLD) $(GO) test -run '^$$' -bench 'SearchOpenLoop|GetJobOpenLoop' -benchtime 1x -timeout 60m ./internal/app/
	$(GO) test -run '^$$' -bench 'FreshnessUnderWriteLoad' -benchtime 100x -timeout 30m ./internal/app/
	$(GO) test -run '^$$' -bench 'BurstDrain' -benchtime 1x -timeout 60m ./internal/app/
	JOBBOARD_BENCH_EVENTS=1000000 $(GO) test -run '^$$' -bench 'Export' -benchtime 2x -timeout 30m ./history/
	JOBBOARD_BENCH_EVENTS=200000 $(GO) test -run '^$$' -bench 'Seed' -benchtime 1x ./seed/
	$(GO) test -run '^$$' -bench 'Rebuild' -benchtime 1000000x -timeout 60m ./projections/
	$(GO) test -run '^$$' -bench 'SendThroughput' -benchtime 5000x ./notifier/
	$(GO) test -run '^$$' -bench 'InstantAlerts' -benchtime 20x -timeout 30m ./alerting/
	$(GO) test -run '^$$' -bench 'DailyDigest' -benchtime 1x -timeout 30m ./alerting/

## fuzz-api: schemathesis (PyPI, pinned, installed into .venv-fuzz) with its default checks
## against the OpenAPI document a fresh server serves at /v1/openapi.json, with seeded data and
## every principal's token (tools/fuzz-api/run.sh); fails on any finding. Not part of
## `make test`: it is an outside tool that needs Python and PyPI.
fuzz-api: stack
	./tools/fuzz-api/run.sh

## readme-config: regenerate README's configuration table from `jobboard config`
readme-config: build
	@awk -v table="$$(./bin/jobboard config)" '/<!-- config:begin/ {print; print table; skip=1; next} /<!-- config:end/ {skip=0} !skip' README.md > README.md.tmp && mv README.md.tmp README.md
