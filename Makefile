# roomworker: the two commands a new user needs are `make demo` and `make test`.
GO        ?= go
GOFLAGS   ?=
TESTFLAGS ?= -race -count=1 -timeout 15m
BIN       := bin

.PHONY: all demo test vet fmt build fuzz bench bench-bookings microbench check-alerts image image-local test-containers soak clean

all: build

## demo: run the whole flow in one process (cmd/roomdev: embedded NATS + plugNmeet stand-in) on examples/
demo:
	$(GO) run ./cmd/roomdev -demo examples

## test: vet, then every test with the race detector
test: vet
	$(GO) test $(TESTFLAGS) ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ ./cmd/...

## fuzz: run the request decoder/validator fuzz targets for FUZZTIME each (default 60s): the
##       validator, and the generated validator against jsonschema/v6 (the oracle)
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./schema -run '^$$' -fuzz '^FuzzValidate$$' -fuzztime $(FUZZTIME)
	$(GO) test ./schema -run '^$$' -fuzz '^FuzzGeneratedMatchesOracle$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 200x

## bench: throughput, latency, CPU and memory of roomworker against the bare pipeline
##        (one JSON line per configuration); pick a subset with BENCH_ARGS, e.g.
##        make bench BENCH_ARGS="-concurrency 64 -latency 0ms -n 5000"
BENCH_ARGS ?=
bench:
	$(GO) run ./cmd/roombench $(BENCH_ARGS)

## bench-bookings: fire lag of bookings: 1,000 rooms all due in the same second, booked against a
##                 real nats-server, the stand-in and a roomworker process; prints p50/p99/max as
##                 one JSON line; e.g. BOOKINGS_ARGS="-bookings 5000 -replicas 3"
BOOKINGS_ARGS ?= -bookings 1000
bench-bookings:
	$(GO) run ./cmd/roombench $(BOOKINGS_ARGS)

## microbench: Go micro-benchmarks of the hot path (decode, validate, sign, encode)
microbench:
	$(GO) test ./events ./schema ./plugnmeet ./worker -run '^$$' -bench . -benchmem

## check-alerts: promtool on the alert rules and their unit tests
check-alerts:
	cd deploy/prometheus && promtool check rules alerts.yml && promtool test rules alerts_test.yml

## soak: chaos soak: nats-server, the plugNmeet stand-in and 3 roomworkers as processes, killed and
##       restarted while requests flow; prints a JSON summary, fails on any loss; e.g. SOAK_ARGS="-n 500"
SOAK_ARGS ?=
soak:
	$(GO) run ./cmd/roomsoak $(SOAK_ARGS)

## image: the container images, built by Docker from ./Dockerfile: roomworker:latest (roomworker alone)
##        and roomworker-tools:latest (roomctl and the plugNmeet stand-in)
IMAGE_ARGS = --build-arg VERSION="$$(git describe --tags --always --dirty)" --build-arg REVISION="$$(git rev-parse HEAD)"
image:
	docker build -t roomworker:latest $(IMAGE_ARGS) .
	docker build --target tools -t roomworker-tools:latest $(IMAGE_ARGS) .

## image-local: the same two images, and a NATS server image, from binaries built here (pulls nothing)
image-local:
	deploy/docker/build-local-images.sh

## test-containers: the testcontainers scenarios and the compose smoke test, on the local images
test-containers: image-local
	NATS_IMAGE=nats-server:local ROOMWORKER_IMAGE=roomworker:local ROOMWORKER_TOOLS_IMAGE=roomworker-tools:local \
	  $(GO) test -race -count=1 -v ./deploy/containertest

clean:
	rm -rf $(BIN)
