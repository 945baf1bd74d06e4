# The two commands of the quick start are `make run` and `make test`; the rest serve them.
SHELL := /bin/bash
GO ?= go
GOTEST_FLAGS ?= -race -count=1 -timeout 45m

.PHONY: run test stack stack-down stack-status build vet unit bench fuzz

## run: start the local stack, migrate, and serve the API (prints its URL)
run: stack build
	./bin/jobboard migrate up
	./bin/jobboard serve

## test: start the local stack, then vet and run every test against the real engines
test: stack vet
	CI=$${CI:-} $(GO) test $(GOTEST_FLAGS) ./...

## stack / stack-down / stack-status: the real engines on loopback (see stack/stack.sh)
stack:
	./stack/stack.sh up

stack-down:
	./stack/stack.sh down

stack-status:
	./stack/stack.sh status

build:
	$(GO) build -o bin/jobboard ./cmd/jobboard

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }

## unit: the tests that need no engine
unit:
	$(GO) test -count=1 ./domain/...

## bench: the benchmarks behind docs/BENCHMARKS.md (needs the stack)
bench: stack
	$(GO) test -run '^$$' -bench . -benchtime 5s -timeout 60m ./...
