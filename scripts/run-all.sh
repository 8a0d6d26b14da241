#!/usr/bin/env bash
# Starts every exporter that exporters.txt marks built on 127.0.0.1 at its default port, with
# embedded defaults, and stops them all on Ctrl-C.
# Usage: run-all.sh [--dry-run] <bin-dir> [list-file]
#   list-file defaults to exporters.txt at the workspace root; --dry-run prints `name port` of
#   each exporter it would start and starts nothing.
set -u
dry=""
if [ "${1:-}" = "--dry-run" ]; then dry=1; shift; fi
bindir=${1:?usage: run-all.sh [--dry-run] <bin-dir> [list-file]}
list=${2:-"$(dirname "$0")/../exporters.txt"}
[ -r "$list" ] || { echo "cannot read the exporter list $list" >&2; exit 1; }
pids=()
cleanup() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; }
trap cleanup INT TERM EXIT
while read -r name port _prefix status _rest; do
  [ -n "$name" ] || continue
  [ "$status" = built ] || continue
  if [ -n "$dry" ]; then echo "$name $port"; continue; fi
  if [ ! -x "$bindir/$name" ]; then
    echo "$name: not built under $bindir, skipped" >&2
    continue
  fi
  "$bindir/$name" --web.listen-address="127.0.0.1:$port" </dev/null &
  pids+=($!)
  echo "$name: http://127.0.0.1:$port/metrics"
done < <(sed 's/#.*//' "$list")
[ -z "$dry" ] || exit 0
[ ${#pids[@]} -gt 0 ] || { echo "no exporters built under $bindir" >&2; exit 1; }
echo "Ctrl-C stops all."
wait
