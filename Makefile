# cellbench — see README.md. Every target installs what it needs via `setup`.
export GOTOOLCHAIN := go1.27.4
export GOEXPERIMENT := simd
GO ?= go
BIN := bin/cellbench
STAMP := .setup-done

.PHONY: setup build test unit portable notebooks regress demo bench wasm serve webtest web-setup clean fuzz

# setup is idempotent; the stamp only skips re-running it within one checkout.
$(STAMP): scripts/setup.sh scripts/setup-gonb.sh scripts/setup-web.sh
	scripts/setup.sh
	touch $(STAMP)

setup:
	scripts/setup.sh
	touch $(STAMP)

build: $(STAMP)
	$(GO) build -o $(BIN) ./cmd/cellbench

# test: unit and real-data tests, the anndata interop check (required here),
# every fuzz target for a bounded time, the notebooks executed headless, and
# the quick suite compared against the committed regression baseline (exit 1
# on a metric regression or slowdown).
test: unit fuzz notebooks regress webtest

# fuzz: each Go fuzz target for FUZZTIME (bounded, so CI can run it on
# every change). A crasher fails the target and is written to its package's
# testdata/fuzz/<Target>/, which plain `go test` (make unit) replays as a
# regression test from then on: commit it with the fix. Longer sessions:
# make fuzz FUZZTIME=10m. Minimising each new interesting input may take
# go test's default 60 s, which would eat a short session: FUZZMINTIME
# bounds it.
FUZZTIME ?= 20s
FUZZMINTIME ?= 3s
FUZZ_TARGETS := ./data/h5ad:FuzzReadBytes ./data/h5ad/internal/hdf5:FuzzOpenWalk \
	./metrics/scib:FuzzReadEmbeddingCSV ./bench:FuzzParseSuite
fuzz: $(STAMP)
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz: $$fn in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg || exit 1; \
	done

regress: build
	rm -rf runs/ci-quick runs/ci-impute
	$(BIN) run suites/quick.yaml --out runs/ci-quick
	$(BIN) compare runs/ci-quick --baseline bench/baseline/quick.json --summary runs/ci-quick/compare.md
	$(BIN) run suites/impute.yaml --out runs/ci-impute
	$(BIN) compare runs/ci-impute --baseline bench/baseline/impute.json --summary runs/ci-impute/compare.md

unit: $(STAMP) portable
	CELLBENCH_REQUIRE_ANNDATA=1 $(GO) test -count=1 -timeout 20m ./...
	CGO_ENABLED=0 $(GO) test -count=1 -tags noxla ./data/... ./results ./reports ./tasks

# portable: everything below the runner builds without cgo or XLA
# (-tags noxla) and for WebAssembly: data, metrics, results, reports, tasks,
# baselines and the models (the browser page and notebooks read these).
PORTABLE := ./data ./metrics/... ./results ./reports ./tasks ./baselines ./model/...
portable:
	CGO_ENABLED=0 $(GO) build -tags noxla $(PORTABLE)
	GOOS=js GOARCH=wasm $(GO) build -tags noxla $(PORTABLE)

notebooks: $(STAMP) build
	scripts/run-notebooks.sh

# demo: the main job on real data with no other set-up.
demo: build
	$(BIN) data list
	$(BIN) data info tapseq
	$(BIN) run suites/quick.yaml --out runs/quick --resume
	$(BIN) report runs/quick --out report/quick
	@echo "demo: leaderboard in report/quick/leaderboard.md"

# wasm: the browser build (web/): cellbench.wasm (scoring, figures,
# leaderboard, model inference; GOOS=js, pure Go) and Go's wasm_exec.js
# beside the page. The page is static: open web/ from any file server.
wasm:
	GOOS=js GOARCH=wasm CGO_ENABLED=0 $(GO) build -tags noxla \
	  -ldflags="-s -w -X main.revision=$$(git rev-parse --short=12 HEAD 2>/dev/null)$$(git diff --quiet HEAD 2>/dev/null || echo +dirty)" \
	  -o web/cellbench.wasm ./web/wasm
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" web/wasm_exec.js

# serve: the page on http://127.0.0.1:8080/ with the dataset registry's
# folder at /data/ and an example run (a tiny ST checkpoint, its
# prediction, a small suite's results.jsonl) at /examples/.
serve: wasm build
	scripts/web-examples.sh runs/web-examples
	$(GO) run ./web/serve -addr $${ADDR:-127.0.0.1:8080}

# webtest: Node and headless Chromium (playwright-core) run cellbench.wasm
# on the example run and must give the native binary's files byte for byte.
web-setup:
	scripts/setup-web.sh

webtest: wasm build web-setup
	scripts/web-examples.sh runs/web-test
	$(GO) build -o bin/cellbench-serve ./web/serve
	node web/test/run.mjs --examples runs/web-test

bench: $(STAMP)
	$(GO) test -run '^$$' -bench . -benchtime 3x ./metrics/... ./data/...

clean:
	rm -rf bin $(STAMP) web/cellbench.wasm web/wasm_exec.js
