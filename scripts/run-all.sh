#!/usr/bin/env bash
# Starts every built exporter on 127.0.0.1 with embedded defaults and stops them all on Ctrl-C.
# Usage: run-all.sh <bin-dir> name:port...
set -u
bindir=$1; shift
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; }
trap cleanup INT TERM EXIT
for spec in "$@"; do
  name=${spec%%:*}; port=${spec##*:}
  [ -x "$bindir/$name" ] || continue
  "$bindir/$name" --web.listen-address="127.0.0.1:$port" &
  pids+=($!)
  echo "$name: http://127.0.0.1:$port/metrics"
done
[ ${#pids[@]} -gt 0 ] || { echo "no exporters built under $bindir" >&2; exit 1; }
echo "Ctrl-C stops all."
wait
