#!/bin/sh
# run-sanitized.sh: build lruleak with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (agent, CLI and tests; undefined behaviour is
# fatal) into ./build-asan, then run there the unit, janitor, fuzz (a fixed
# number of executions per target) and e2e suites and the stress tests but
# the 500-process one. The Python hosts get the sanitizer runtime preloaded
# before the agent (LeakSanitizer is on for the CLI only); any sanitizer
# report fails its test. scripts/run-tests.sh (CI) runs it.
#
# Usage: scripts/run-sanitized.sh [MESON_TEST_OPTIONS...]   e.g. --suite fuzz
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build-asan/build.ninja ]; then
    CC=clang meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dfuzz=enabled >/dev/null
fi
meson compile -C build-asan >/dev/null
echo "run-sanitized.sh: built build-asan (clang, ASan+UBSan)" >&2
if [ $# -gt 0 ]; then
    exec meson test -C build-asan --print-errorlogs "$@"
fi
meson test -C build-asan --print-errorlogs --timeout-multiplier 2 \
    --suite unit --suite janitor --suite fuzz --suite e2e
meson test -C build-asan --print-errorlogs --timeout-multiplier 2 \
    stress-threads stress-clients stress-kill
