#!/usr/bin/env bash
# Builds the suite's packages from binaries already built (`make package` builds them first):
# a .deb (cargo-deb) and an .rpm (cargo-generate-rpm) per exporter that exporters.txt marks
# built, and the same two for the rules package (packaging/rules: alert rules, Alertmanager
# example, Grafana dashboards). What goes in each is in the crates' [package.metadata.deb] and
# [package.metadata.generate-rpm] tables.
# Usage: build-packages.sh <cargo-profile> <exporters.txt> <output-dir>
set -euo pipefail
profile=${1:?usage: build-packages.sh <cargo-profile> <exporters.txt> <output-dir>}
list=${2:?exporters.txt}
out=${3:?output directory}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo=${CARGO:-cargo}
target_dir=$(cd "$root" && realpath -m "${CARGO_TARGET_DIR:-target}")
case $profile in dev) profile_dir=debug ;; *) profile_dir=$profile ;; esac
bin_dir=$target_dir/$profile_dir
mkdir -p "$out" "$bin_dir/man"
# Absolute: the rules package is built from inside packaging/rules.
out=$(cd "$out" && pwd)
# Debug builds are packaged for the package test only: compress fast (xz and zstd of the
# unstripped ~40 MB binaries take a minute per package on two cores).
deb_opts=() rpm_opts=()
if [ "$profile" = dev ]; then deb_opts=(--fast) rpm_opts=(--payload-compress none); fi

exporters=$(sed 's/#.*//' "$list" | awk '$4 == "built" { print $1 }')
[ -n "$exporters" ] || { echo "no built exporter in $list" >&2; exit 1; }

for name in $exporters; do
    [ -x "$bin_dir/$name" ] || { echo "$bin_dir/$name is not built" >&2; exit 1; }
    # The man page is generated from the binary's own --help, next to the binary, where the
    # packages' "target/release/man/..." assets are looked up.
    "$root/packaging/man-page.sh" "$bin_dir/$name" | gzip -n -9 > "$bin_dir/man/$name.1.gz"
    (cd "$root" && "$cargo" deb --no-build --profile "$profile" -p "$name" "${deb_opts[@]}" --output "$out/")
    # cargo-deb strips the binary it packages; cargo-generate-rpm does not, which only matters
    # for PROFILE=dev (release builds are stripped by the profile).
    (cd "$root" && "$cargo" generate-rpm --profile "$profile" -p "exporters/$name" "${rpm_opts[@]}" --output "$out/")
done

# The rules crate is its own workspace: its (empty) build output goes to our target directory.
# Its rules are rendered with runbook links into the runbooks it installs, unless the operator
# names where the team reads them (RUNBOOK_BASE_URL, as for `make rules`).
rules=$root/packaging/rules
RUNBOOK_BASE_URL=${RUNBOOK_BASE_URL:-file:///usr/share/ops-exporter-suite/runbooks} \
  "$root/scripts/render-rules.sh" "$rules/rendered"
(cd "$rules" && CARGO_TARGET_DIR=$target_dir "$cargo" deb --no-build --output "$out/")
(cd "$rules" && CARGO_TARGET_DIR=$target_dir "$cargo" generate-rpm --output "$out/")
ls -l "$out"
