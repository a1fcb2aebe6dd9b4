# edgeflag — make targets. `make run` and `make test` are the two commands of the README;
# both install what they need first (scripts/setup.sh is idempotent and pinned).

GO          ?= go
FLAGS_DIR   ?= flags
OUT         ?= out
BIN         ?= bin
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.7.0
FUZZTIME    ?= 10s
LONG_FUZZTIME ?= 10m

# Fuzz targets as package:target pairs. `make fuzz` runs each briefly (part of `make test`);
# `make fuzz-long` runs each for LONG_FUZZTIME.
FUZZ_TARGETS ?= ./evaluator:FuzzDecodeAndEvaluate ./evaluator:FuzzParseContext

.PHONY: all setup build run test test-go lint fmt-check vet staticcheck fuzz fuzz-long bench \
        evaluator-wasm-check clean

all: build

setup:
	bash scripts/setup.sh

build:
	$(GO) build ./...

## run: the main job on the embedded default store (no AWS account needed).
run: setup
	$(GO) run ./cmd/edgeflag dev

## test: everything CI runs.
test: setup lint evaluator-wasm-check test-go fuzz

test-go:
	$(GO) test -count=1 -timeout 20m ./...

lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run $(STATICCHECK) ./...

## evaluator-wasm-check: the evaluator must build for WASI without fmt, reflection or encoding/json.
evaluator-wasm-check:
	GOOS=wasip1 GOARCH=wasm $(GO) build ./evaluator ./snapshot
	@deps=$$(GOOS=wasip1 GOARCH=wasm $(GO) list -deps ./evaluator | grep -E '^(fmt|reflect|encoding/json)$$' || true); \
	if [ -n "$$deps" ]; then echo "evaluator must not depend on: $$deps"; exit 1; fi; \
	echo "evaluator builds for wasip1 without fmt, reflect or encoding/json"

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

fuzz-long:
	$(MAKE) fuzz FUZZTIME=$(LONG_FUZZTIME)

## bench: the benchmarks recorded in docs/benchmarks.md.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./evaluator ./compiler

clean:
	rm -rf $(BIN) $(OUT) .cache
