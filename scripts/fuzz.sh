#!/bin/sh
# fuzz.sh: long libFuzzer runs of every target (or those named), each for
# SECONDS (default 600), in the sanitized clang build ./build-asan (made by
# scripts/run-sanitized.sh's configuration if missing). New inputs are kept
# in build-asan/fuzz-corpus/<target>/ across runs (FUZZ_MERGE=1 also merges
# them, minimised, into the seed corpus tests/fuzz/corpus/<target>/);
# crashes land in build-asan/fuzz-artifacts/. A crash becomes a regression
# input: fix the bug, then copy the file to tests/fuzz/corpus/<target>/
# as regress-<what>.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   targets: request recording cli-args
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-request recording cli-args}
if [ ! -f build-asan/build.ninja ]; then
    CC=clang meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dfuzz=enabled >/dev/null
fi
meson compile -C build-asan >/dev/null
status=0
for t in $targets; do
    exe=build-asan/tests/fuzz/fuzz-$t
    keep=build-asan/fuzz-corpus/$t
    mkdir -p "$keep"
    echo "fuzz.sh: fuzz-$t for ${seconds}s" >&2
    # Start from the kept inputs and the seeds; keep what is new.
    if FUZZ_OUT="$keep" scripts/fuzz-one.sh "$exe" "tests/fuzz/corpus/$t" \
        build-asan/fuzz-artifacts -max_total_time="$seconds" 2>"build-asan/fuzz-$t.log"; then
        grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' \
            "build-asan/fuzz-$t.log" >&2 || true
    else
        status=1
        echo "fuzz.sh: fuzz-$t found a problem: see build-asan/fuzz-$t.log" >&2
    fi
    if [ "${FUZZ_MERGE:-0}" = 1 ]; then
        "$exe" -merge=1 "tests/fuzz/corpus/$t" "$keep" >/dev/null 2>&1
    fi
done
exit "$status"
