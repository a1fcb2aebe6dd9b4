# edgeflag — make targets. `make run` and `make test` are the two commands of the README;
# both install what they need first (scripts/setup.sh is idempotent and pinned).

GO          ?= go
FLAGS_DIR   ?= flags
OUT         ?= out
BIN         ?= bin
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.7.0
FUZZTIME    ?= 8s
LOAD_DURATION    ?= 30s
LOAD_CONCURRENCY ?= 8
BASE_REF    ?= origin/main
STORE       ?= $(OUT)/store
ARTIFACTS_DIR ?= $(BIN)/lambda
LONG_FUZZTIME ?= 10m

# Fuzz targets as package:target pairs. `make fuzz` runs each briefly (part of `make test`);
# `make fuzz-long` runs each for LONG_FUZZTIME.
FUZZ_TARGETS ?= ./evaluator:FuzzDecodeAndEvaluate ./protocol:FuzzParseContext ./compiler:FuzzCompile ./protocol:FuzzDecode \
                ./snapshot:FuzzRegexp ./snapshot:FuzzMurmur3 ./snapshot:FuzzCheckJSON ./protocol:FuzzCheckJSONMessages \
                ./evaluator:FuzzParseTime ./evaluator:FuzzFold

.PHONY: all setup build run test standalone-check test-go lint fmt-check vet staticcheck fuzz fuzz-long bench \
        bench-compiler bench-edge bench-peers wasm edge-worker evaluator-wasm-check flags-validate flags-check flags-review flags-publish \
        schema-editor-check lambda lambda-local lambda-edge build-KillSwitchFunction build-RolloutControllerFunction build-EdgeFunction bench-publish bench-load bench-dashboard load cli-golden docs-test clean

all: build

setup:
	bash scripts/setup.sh

build:
	$(GO) build ./...

## run: the main job on the embedded default store (no AWS account needed).
run: setup
	$(GO) run ./cmd/edgeflag dev

## test: everything CI runs.
test: setup standalone-check lint evaluator-wasm-check flags-check schema-editor-check test-go fuzz

## standalone-check: no tracked code, script, Makefile or config refers to a path outside
## the repository (scripts/standalonecheck prints file:line of each reference).
standalone-check:
	$(GO) run ./scripts/standalonecheck

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
	GOOS=wasip1 GOARCH=wasm $(GO) build ./evaluator ./snapshot ./protocol
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o /dev/null ./wasm/guest
	GOOS=wasip1 GOARCH=wasm $(GO) vet -tags edgeflag_bench ./wasm/guest
	@deps=$$(GOOS=wasip1 GOARCH=wasm $(GO) list -deps ./evaluator ./protocol | grep -E '^(fmt|reflect|encoding/json)$$' || true); \
	if [ -n "$$deps" ]; then echo "evaluator must not depend on: $$deps"; exit 1; fi; \
	echo "evaluator builds for wasip1 without fmt, reflect or encoding/json"

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s $$pkg || exit 1; \
	done

fuzz-long:
	$(MAKE) fuzz FUZZTIME=$(LONG_FUZZTIME)

## bench: the benchmarks recorded in docs/benchmarks.md.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./evaluator ./ofrep ./tests/properties ./rollout/prometheus
	$(MAKE) bench-compiler bench-edge

## bench-edge: the WASM module under wazero, and beside the native evaluator.
bench-edge:
	$(GO) test -run='^$$' -bench=. -benchmem ./wasm/host ./internal/edgeserver
	$(GO) test -run='^$$' -bench='Wasm|Native' -benchmem ./tests

## bench-peers: edgeflag's module (via sdk/js, in Node.js) against LaunchDarkly's server SDK,
## flagd-core and the Unleash client on the three flags of bench/peers/flags, cross-checked;
## cold starts in Node.js and in workerd (a few minutes; docs/benchmarks.md). PEERS_RUNS runs each.
PEERS_OUT  ?= $(OUT)/bench-peers
PEERS_RUNS ?= 5
bench-peers: wasm
	bash scripts/install-bench-peers.sh
	bash scripts/install-node-deps.sh
	$(GO) build -o $(BIN)/edgeflag ./cmd/edgeflag
	$(BIN)/edgeflag compile bench/peers/flags -o $(PEERS_OUT)
	$(BIN)/edgeflag inspect --json $(PEERS_OUT)/production.snap > $(PEERS_OUT)/flags.json
	node --no-warnings bench/peers/bench.mjs --runs $(PEERS_RUNS) --wasm $(BIN)/edgeflag.wasm \
		--snapshot $(PEERS_OUT)/production.snap --flags $(PEERS_OUT)/flags.json
	node --no-warnings bench/peers/coldstart.mjs --runs $(PEERS_RUNS) --wasm $(BIN)/edgeflag.wasm \
		--snapshot $(PEERS_OUT)/production.snap --flags $(PEERS_OUT)/flags.json
	$(GO) test -run='^$$' -bench='^BenchmarkWorkerdColdStart$$' -benchtime=$(PEERS_RUNS)x ./tests

## wasm: the evaluator module bin/edgeflag.wasm (prints raw and gzip sizes).
wasm:
	bash scripts/build-wasm.sh $(BIN)/edgeflag.wasm

## edge-worker: the Cloudflare Worker in workerd on 127.0.0.1:8787 (set EDGEFLAG_STORE_URL, and
## EDGEFLAG_ORIGIN_URL to forward requests: without it other paths than the flags answer 502).
edge-worker: wasm
	bash scripts/install-node-deps.sh
	edge/node_modules/.bin/workerd serve edge/cloudflare/config.capnp

## bench-compiler: load, check and build 10,000 generated flags (targets: ≤ 1 s/op, ≤ 64 B per simple flag).
bench-compiler:
	$(GO) test -run='^$$' -bench=BenchmarkCompile10000Flags -benchtime=3x ./compiler

## flags-validate / flags-check: what CI runs on a pull request touching flags/.
flags-validate:
	$(GO) run ./cmd/edgeflag validate $(FLAGS_DIR)

flags-check: flags-validate
	$(GO) run ./cmd/edgeflag check $(FLAGS_DIR)

## schema-editor-check: the schema as editors apply it (yaml-language-server from npm): the
## example flags and the compiler's good test files give no diagnostics, its broken ones do.
schema-editor-check:
	bash scripts/install-schema-editorcheck.sh
	node schema/editorcheck/check.js --valid $$(find $(FLAGS_DIR) compiler/testdata/good -name '*.yaml' -o -name '*.yml')
	node schema/editorcheck/check.js --invalid compiler/testdata/broken/schema/*.yaml

## flags-review: what CI runs on a pull request touching flags/: validate, check, diff against BASE_REF.
flags-review: flags-check
	$(GO) run ./cmd/edgeflag diff --dir $(FLAGS_DIR) $(BASE_REF)

## flags-publish: compile every environment and publish it to STORE (a directory or s3://bucket/prefix).
flags-publish:
	$(GO) run ./cmd/edgeflag publish --store $(STORE) $(FLAGS_DIR)

## lambda: the kill-switch function for provided.al2023 (linux/arm64) as bin/lambda/bootstrap.
lambda: build-KillSwitchFunction

## build-KillSwitchFunction, build-RolloutControllerFunction: what `sam build` runs
## (template.yaml, BuildMethod: makefile); both functions are the same binary.
build-RolloutControllerFunction: build-KillSwitchFunction

build-KillSwitchFunction:
	mkdir -p $(ARTIFACTS_DIR)
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $(ARTIFACTS_DIR)/bootstrap ./lambda/bootstrap

## lambda-edge: the Lambda@Edge viewer-request function's deployment zip, bin/lambda-edge.zip
## (Lambda@Edge allows 1 MB for viewer-request functions), with edge/lambda-edge/config.json
## (or EDGEFLAG_EDGE_CONFIG) bundled: Lambda@Edge has no environment variables.
lambda-edge: wasm
	rm -rf $(BIN)/lambda-edge $(BIN)/lambda-edge.zip
	bash scripts/build-lambda-edge.sh $(BIN)/lambda-edge
	cd $(BIN)/lambda-edge && zip -qr -X $(abspath $(BIN))/lambda-edge.zip .
	@echo "$(BIN)/lambda-edge.zip: $$(wc -c < $(BIN)/lambda-edge.zip) bytes (limit 1048576)"

## build-EdgeFunction: what `sam build -t template-edge.yaml` runs (BuildMethod: makefile).
build-EdgeFunction:
	bash scripts/build-lambda-edge.sh $(ARTIFACTS_DIR)

## lambda-local: the kill-switch Lambda built for this machine, under the AWS Lambda Runtime
## Interface Emulator on the directory store STORE with the example flags published (no AWS
## account, no Docker), invoked with EVENT; prints the answer (scripts/lambda-local.sh).
EVENT ?= events/flags-get.json
lambda-local:
	STORE=$(STORE) FLAGS_DIR=$(FLAGS_DIR) bash scripts/lambda-local.sh $(EVENT)

## bench-dashboard: the release dashboard's page weight and first render with 1,000 flags
## (the browser benchmark needs Chromium: scripts/install-chromium.sh).
bench-dashboard:
	$(GO) test ./internal/dashboard -run '^$$' -bench . -benchtime 10x

## bench-publish: the numbers of docs/benchmarks.md.
bench-publish:
	$(GO) test -run='^$$' -bench=KillToVisible -benchtime=20x ./tests
	$(GO) test -run='^$$' -bench=ConcurrentKills -benchtime=10x -count=3 ./tests
	$(GO) test -run='^$$' -bench=Kill -benchtime=200x -count=2 ./publish

## bench-load: `edgeflag dev` under edgeflag-load, with and without a kill (docs/benchmarks.md).
bench-load:
	EDGEFLAG_LOAD_DURATION=$(LOAD_DURATION) EDGEFLAG_LOAD_CONCURRENCY=$(LOAD_CONCURRENCY) \
		$(GO) test -count=1 -run '^TestLoadEdgeDev$$' -v -timeout 10m ./tests

## load: edgeflag-load against a running `make run` on 127.0.0.1:8080.
load:
	$(GO) run ./cmd/edgeflag-load --url http://127.0.0.1:8080/ofrep/v1/evaluate/flags \
		--body '{"context":{"targetingKey":"user-1001"}}' --duration 10s --concurrency 8

## docs-test: run the shell examples of README.md and docs/*.md and compare their output
## (part of test-go; -v lists the examples skipped and why).
docs-test:
	$(GO) test -count=1 -v -run '^TestDocs$$' ./tests/docs

## cli-golden: rewrite the CLI golden files after an intended output change.
cli-golden:
	$(GO) test ./tests -run TestCLI -count=1 -cli.update

clean:
	rm -rf $(BIN) $(OUT) .cache
