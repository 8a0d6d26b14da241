# Entry points of the ops exporter suite. `make run` and `make test` are all a fresh machine needs.

# Debian packages the tests run against (installed by `make deps` when missing).
APT_PACKAGES = prometheus prometheus-alertmanager victoria-metrics prometheus-node-exporter prometheus-blackbox-exporter etcd-server etcd-client keepalived iproute2 iputils-ping curl procps python3 strace systemd-journal-remote systemd rpm qemu-system-x86 busybox-static xz-utils ipvsadm chrony faketime cron rsyslog openssh-server dbus rsync openjdk-17-jdk-headless tomcat10 prometheus-process-exporter
# The exporter list (name, default port, metric prefix, built or planned), read by `make run` and the tests.
EXPORTERS = exporters.txt

CARGO ?= cargo
export GIT_REVISION := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

.PHONY: all build release run test deps lint fmt bench fuzz clean rules package package-tools

# Packages (`make package`): cargo profile of the packaged binaries, and where the packages go.
PROFILE ?= release
TARGET_DIR = $(or $(CARGO_TARGET_DIR),target)
PACKAGE_DIR = $(TARGET_DIR)/packages/$(PROFILE)
# The packaging tools, pinned: their metadata formats change between versions.
CARGO_DEB_VERSION = 3.8.0
CARGO_GENERATE_RPM_VERSION = 0.21.1

all: build

build:
	$(CARGO) build --workspace --bins

release:
	$(CARGO) build --workspace --bins --release

## run: build and start every built exporter of $(EXPORTERS) on loopback at its default port, with embedded defaults; Ctrl-C stops all.
run: release
	@scripts/run-all.sh "$${CARGO_TARGET_DIR:-target}/release" $(EXPORTERS)

## deps: install the Debian packages the tests need, when missing (needs root). Their daemons
## (cron, sshd, chronyd, etcd, keepalived...) are not started: the tests start their own, and a
## host copy would answer in their place. A policy-rc.d that refuses every start is put in place
## for the install when the host has none (Docker images ship one), and removed after.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		policy=""; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy=1; fi; \
		rc=0; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing || rc=$$?; \
		if [ -n "$$policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
		exit $$rc; \
	else echo "test dependencies present"; fi

## test: install what the tests need, build, run every test (unit, integration, end to end),
## and fail if any test left something in the exporters' default state paths on this host.
## The package test installs packages made from the debug binaries (PROFILE=dev): release builds
## with fat LTO would add several minutes.
test: deps build
	$(MAKE) package PROFILE=dev
	@mkdir -p target && scripts/state-guard.sh snapshot target/state-guard.before
	@rc=0; SUITE_PACKAGE_DIR=$(abspath $(TARGET_DIR)/packages/dev) $(CARGO) test --workspace --no-fail-fast || rc=$$?; \
	scripts/state-guard.sh check target/state-guard.before || rc=1; exit $$rc

## rules: the alert rules ready to load, in target/rules, with every runbook_url under RUNBOOK_BASE_URL
## (where you serve docs/runbooks/), e.g. make rules RUNBOOK_BASE_URL=https://git.example.com/ops/suite/-/blob/main/docs/runbooks
rules:
	@RUNBOOK_BASE_URL="$(RUNBOOK_BASE_URL)" scripts/render-rules.sh target/rules

## package: a .deb and an .rpm per built exporter of $(EXPORTERS), and the rules package, into
## $(PACKAGE_DIR) (PROFILE=dev packages the debug binaries).
package: package-tools
	$(CARGO) build --profile $(PROFILE) --workspace --bins
	packaging/build-packages.sh $(PROFILE) $(EXPORTERS) $(PACKAGE_DIR)

## package-tools: cargo-deb and cargo-generate-rpm at the pinned versions, from crates.io when missing.
package-tools:
	@$(CARGO) deb --version 2>/dev/null | grep -qx 'cargo-deb $(CARGO_DEB_VERSION)' || $(CARGO) install --locked cargo-deb@$(CARGO_DEB_VERSION)
	@$(CARGO) generate-rpm --version 2>/dev/null | grep -q ' $(CARGO_GENERATE_RPM_VERSION)$$' || $(CARGO) install --locked cargo-generate-rpm@$(CARGO_GENERATE_RPM_VERSION)

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
