#!/usr/bin/env bash
# Renders the alert rules for deployment: every `${RUNBOOK_BASE_URL}` in alerting-rules/*.yml
# becomes the base URL where the operator serves docs/runbooks/ (a Git web UI, a wiki, an
# internal web server), so each alert's runbook_url opens its runbook section. This is the one
# place the base URL is set.
#
# Usage: RUNBOOK_BASE_URL=https://git.example.com/ops/suite/-/blob/main/docs/runbooks \
#          scripts/render-rules.sh OUT_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: RUNBOOK_BASE_URL=<url> $0 OUT_DIR}
base=${RUNBOOK_BASE_URL:-}
if [ -z "$base" ]; then
  echo "set RUNBOOK_BASE_URL to the URL under which docs/runbooks/ is served, e.g." >&2
  echo "  make rules RUNBOOK_BASE_URL=https://git.example.com/ops/suite/-/blob/main/docs/runbooks" >&2
  exit 2
fi
case "$base" in
  http://*|https://*|file://*) ;;
  *) echo "RUNBOOK_BASE_URL must be an http(s):// or file:// URL, not '$base'" >&2; exit 2 ;;
esac
base=${base%/}
mkdir -p "$out"
for f in alerting-rules/*.yml; do
  # '|' cannot occur in a URL unescaped, so it is a safe sed delimiter.
  sed "s|\${RUNBOOK_BASE_URL}|${base//&/\\&}|g" "$f" > "$out/$(basename "$f")"
done
if grep -l 'RUNBOOK_BASE_URL' "$out"/*.yml >&2; then
  echo "placeholders left in the files above" >&2
  exit 1
fi
echo "rules rendered into $out with runbooks at $base/"
