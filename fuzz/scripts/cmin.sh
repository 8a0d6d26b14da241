#!/usr/bin/env bash
# Minimises the checked-in corpus after a fuzzing run: merges fuzz/corpus-new/<target> (what
# `make fuzz` found) into fuzz/corpus/<target>, then keeps the smallest inputs that together
# reach every edge the whole set reaches. `-use_counters=0` counts edges, not how often each is
# hit, which keeps the corpus small enough to check in (a few hundred KB).
#
#   fuzz/scripts/cmin.sh [TARGET...]   (default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1
sanitizer=${FUZZ_SANITIZER:-none}
if [ "$#" -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    if [ -d "corpus-new/$t" ]; then
        find "corpus-new/$t" -type f -exec cp -n -t "corpus/$t" {} +
    fi
    cargo fuzz cmin -s "$sanitizer" "$t" "corpus/$t" -- -use_counters=0 >"corpus-new/cmin-$t.log" 2>&1 ||
        { tail -n 20 "corpus-new/cmin-$t.log"; exit 1; }
    echo "$t: $(find "corpus/$t" -type f | wc -l) inputs, $(cat "corpus/$t"/* 2>/dev/null | wc -c) bytes"
done
