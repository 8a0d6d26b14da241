# Entry points of the ops exporter suite. `make run` and `make test` are all a fresh machine needs.

# Debian packages the tests run against (installed by `make deps` when missing).
APT_PACKAGES = prometheus prometheus-alertmanager prometheus-node-exporter prometheus-blackbox-exporter etcd-server etcd-client keepalived iproute2 iputils-ping curl procps python3 strace systemd-journal-remote
# The exporter list (name, default port, metric prefix, built or planned), read by `make run` and the tests.
EXPORTERS = exporters.txt

CARGO ?= cargo
export GIT_REVISION := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

.PHONY: all build release run test deps lint fmt bench fuzz clean

all: build

build:
	$(CARGO) build --workspace --bins

release:
	$(CARGO) build --workspace --bins --release

## run: build and start every built exporter of $(EXPORTERS) on loopback at its default port, with embedded defaults; Ctrl-C stops all.
run: release
	@scripts/run-all.sh target/release $(EXPORTERS)

## deps: install the Debian packages the tests need, when missing (needs root).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "test dependencies present"; fi

## test: install what the tests need, build, run every test (unit, integration, end to end).
test: deps build
	$(CARGO) test --workspace --no-fail-fast

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## bench: each exporter beside its anchor (node_exporter, blackbox_exporter) in one run; prints ratios.
bench: deps release
	@set -e; for b in bench/*.sh; do [ -x "$$b" ] || continue; echo "== $$b"; "$$b" "$${CARGO_TARGET_DIR:-target}/release"; done

## fuzz: coverage-guided fuzzing of every parser of untrusted bytes (cargo-fuzz, fuzz/), FUZZ_SECONDS per target;
## stops at the first crash with its input's path. Not part of `make test`. One target: make fuzz FUZZ_TARGETS=etcd_metrics
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz:
	@fuzz/scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	$(CARGO) clean
