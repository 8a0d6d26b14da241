#!/usr/bin/env bash
# Fails `make test` when a test touched the host's own exporter state: the default audit journal
# and state paths of the exporters (the defaults in exporters/os-exporter/src/lib.rs and
# exporters/etcd-probe/src/config.rs). A test keeps its files in its own temporary directory; a
# state file left in the default path is read by the next `make run` (issue 16: a stale etcd-probe
# state made `make run` fire EtcdDataLoss with no etcd running).
#
# Usage: scripts/state-guard.sh snapshot FILE   (before the tests)
#        scripts/state-guard.sh check FILE      (after: exit 1 and the differences when changed)
set -euo pipefail
DEFAULT_STATE_DIRS=(/var/lib/os-exporter /var/lib/etcd-probe)

snapshot() {
  for d in "${DEFAULT_STATE_DIRS[@]}"; do
    if [ -e "$d" ]; then
      find "$d" -printf '%p %y %s %T@\n' | sort
    else
      echo "$d absent"
    fi
  done
}

case "${1:-}" in
  snapshot) snapshot > "$2" ;;
  check)
    if ! diff -u "$2" <(snapshot) > "$2.diff"; then
      echo "a test wrote to the host's default exporter state paths (${DEFAULT_STATE_DIRS[*]}):" >&2
      cat "$2.diff" >&2
      exit 1
    fi
    ;;
  *) echo "usage: $0 snapshot|check FILE" >&2; exit 2 ;;
esac
