# roomworker: the two commands a new user needs are `make demo` and `make test`.
GO        ?= go
GOFLAGS   ?=
TESTFLAGS ?= -race -count=1 -timeout 15m
BIN       := bin

.PHONY: all demo test vet fmt build fuzz bench microbench check-alerts clean

all: build

## demo: run the whole flow in one process (embedded NATS + plugNmeet stand-in) on examples/
demo:
	$(GO) run ./cmd/roomworker -dev -demo examples

## test: vet, then every test with the race detector
test: vet
	$(GO) test $(TESTFLAGS) ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/...

## fuzz: run the request decoder/validator fuzz target for FUZZTIME (default 60s)
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./schema -run '^$$' -fuzz '^FuzzValidate$$' -fuzztime $(FUZZTIME)

## bench: throughput, latency, CPU and memory of roomworker against the bare pipeline
##        (one JSON line per configuration); pick a subset with BENCH_ARGS, e.g.
##        make bench BENCH_ARGS="-concurrency 64 -latency 0ms -n 5000"
BENCH_ARGS ?=
bench:
	$(GO) run ./cmd/roombench $(BENCH_ARGS)

## microbench: Go micro-benchmarks of the hot path (decode, validate, sign, encode)
microbench:
	$(GO) test ./events ./schema ./plugnmeet ./worker -run '^$$' -bench . -benchmem

## check-alerts: promtool on the alert rules and their unit tests
check-alerts:
	cd deploy/prometheus && promtool check rules alerts.yml && promtool test rules alerts_test.yml

clean:
	rm -rf $(BIN)
