#!/usr/bin/env bash
# `make fuzz`: builds every fuzz target with cargo-fuzz (libFuzzer) and runs each for a bounded
# time, stopping at the first crash with a non-zero exit and the crashing input's path.
#
#   fuzz/scripts/fuzz.sh [SECONDS] [TARGET...]   (default 60 s per target, every target)
#
# FUZZ_SANITIZER (default none): our code has no unsafe, so a sanitizer mostly slows the search
# down; `address` checks the dependencies' unsafe code too. The sanitizer flags are nightly-only,
# which stable rustc accepts under RUSTC_BOOTSTRAP=1 (set here for every build, so switching does
# not rebuild for that reason).
# New inputs go to fuzz/corpus-new/<target> (not checked in), the checked-in corpus is only read:
# `cargo fuzz cmin` merges what is worth keeping (see fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
sanitizer=${FUZZ_SANITIZER:-none}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

cargo fuzz build -s "$sanitizer"
if [ "$#" -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi

for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "corpus-new/$t"
    dict=()
    [ -f "dict/$t.dict" ] && dict=("-dict=dict/$t.dict")
    echo "== $t: ${seconds}s"
    # -timeout: an input taking 10 s is a hang, reported like a crash.
    if ! cargo fuzz run -s "$sanitizer" "$t" "corpus-new/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "${dict[@]}" 2>"corpus-new/$t.log"; then
        tail -n 40 "corpus-new/$t.log"
        crasher=$(ls -t "artifacts/$t"/* 2>/dev/null | head -n 1 || true)
        echo "fuzz target $t failed; crashing input: fuzz/${crasher:-artifacts/$t/}" >&2
        echo "reproduce: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -s $sanitizer $t ${crasher:-artifacts/$t/<file>}" >&2
        exit 1
    fi
    grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|Done)' "corpus-new/$t.log" || true
done
echo "fuzzing done: ${#targets[@]} targets, ${seconds}s each, no crash"
