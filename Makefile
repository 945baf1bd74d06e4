# The two commands of the quick start are `make run` and `make test`; the rest serve them.
SHELL := /bin/bash
GO ?= go
GOTEST_FLAGS ?= -race -count=1 -timeout 45m

.PHONY: run test stack stack-down stack-status stack-cluster stack-cluster-down chaos build vet unit bench fuzz

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
## one package at a time
test: stack vet
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

vet: # no file is built only without the faults or chaos tags, so this vets every file
	$(GO) vet -tags faults,chaos ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }

## unit: the tests that need no engine
unit:
	$(GO) test -count=1 ./domain/...

## bench: the benchmarks behind docs/BENCHMARKS.md (needs the stack)
bench: stack
	$(GO) test -run '^$$' -bench 'Append|RawInsert' -benchtime 5000x ./eventstore/
	$(GO) test -run '^$$' -bench 'RelayThroughput' -benchtime 100000x ./eventstore/
	$(GO) test -run '^$$' -bench 'RelayBacklogToKafka' -benchtime 50000x ./internal/app/
	$(GO) test -run '^$$' -bench 'RelayCommitToKafkaLatency' -benchtime 1000x ./internal/app/
	$(GO) test -run '^$$' -bench 'SearchUnderLoad|GetJobUnderLoad' -benchtime 2000x -timeout 30m ./internal/app/
	$(GO) test -run '^$$' -bench 'Freshness' -benchtime 50x ./internal/app/
	JOBBOARD_BENCH_EVENTS=1000000 $(GO) test -run '^$$' -bench 'Export' -benchtime 2x -timeout 30m ./history/
	JOBBOARD_BENCH_EVENTS=200000 $(GO) test -run '^$$' -bench 'Seed' -benchtime 1x ./seed/
	$(GO) test -run '^$$' -bench 'Rebuild' -benchtime 1000000x -timeout 60m ./projections/

## readme-config: regenerate README's configuration table from `jobboard config`
readme-config: build
	@awk -v table="$$(./bin/jobboard config)" '/<!-- config:begin/ {print; print table; skip=1; next} /<!-- config:end/ {skip=0} !skip' README.md > README.md.tmp && mv README.md.tmp README.md
