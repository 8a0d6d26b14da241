# Shared set-up of the benchmark scripts (sourced, not run): strict mode, the repository root as
# working directory, a work dir and every started process removed on exit, free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

# need CMD HINT: exit with a clear message when a tool is missing.
need() { command -v "$1" >/dev/null || { echo "missing $1 ($2)" >&2; exit 1; }; }

# bench_init TAG: creates $WORK and arranges for it and every pid in $PIDS to go on exit.
bench_init() {
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
