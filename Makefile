# roomworker: the two commands a new user needs are `make demo` and `make test`.
GO        ?= go
GOFLAGS   ?=
TESTFLAGS ?= -race -count=1 -timeout 15m
BIN       := bin

.PHONY: all demo test vet fmt build fuzz bench clean

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

## bench: Go micro-benchmarks of the hot path
bench:
	$(GO) test ./... -run '^$$' -bench . -benchmem

clean:
	rm -rf $(BIN)
