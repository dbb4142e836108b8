#!/bin/sh
# fuzz-one.sh: run one libFuzzer target on its seed corpus without touching
# the corpus. New inputs go to FUZZ_OUT (a directory kept between runs) or,
# by default, to a temporary directory that is removed. Crashes, leaks and
# timeouts are written to ARTIFACT_DIR as <target>-crash-<sha1> etc.
# `meson test --suite fuzz` calls it with -runs=N; scripts/fuzz.sh with
# -max_total_time=S.
#
# Usage: [FUZZ_OUT=DIR] scripts/fuzz-one.sh TARGET CORPUS_DIR ARTIFACT_DIR [LIBFUZZER_OPTIONS...]
set -eu
if [ $# -lt 3 ]; then
    echo "usage: $0 TARGET CORPUS_DIR ARTIFACT_DIR [LIBFUZZER_OPTIONS...]" >&2
    exit 2
fi
target=$1 corpus=$2 artifacts=$3
shift 3
name=$(basename "$target")
mkdir -p "$artifacts"
if [ -n "${FUZZ_OUT:-}" ]; then
    out=$FUZZ_OUT
    mkdir -p "$out"
else
    out=$(mktemp -d "${TMPDIR:-/tmp}/lruleak-fuzz-XXXXXX")
    trap 'rm -rf "$out"' EXIT INT TERM
fi
# Stop at the first finding; the targets' own oracles abort().
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
# The first directory receives the new inputs; the seeds are only read.
"$target" -artifact_prefix="$artifacts/$name-" -print_final_stats=1 -timeout=20 \
    "$@" "$out" "$corpus" || status=$?
if [ "$status" -ne 0 ]; then
    echo "fuzz-one.sh: $name failed (exit $status); its input is in $artifacts/$name-*" >&2
    # libFuzzer reports a finding with 77, which meson reads as "skipped".
    [ "$status" -ne 77 ] || status=1
fi
exit "$status"
