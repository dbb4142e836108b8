#!/bin/sh
# run-sanitized.sh: build lruleak with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (agent, CLI and tests) into ./build-asan and run
# the unit, janitor, fuzz (a fixed number of executions per target) and e2e
# suites there. The Python hosts of the e2e suite get the sanitizer runtime
# preloaded before the agent; every sanitizer report fails its test.
#
# Usage: scripts/run-sanitized.sh [MESON_TEST_OPTIONS...]   e.g. --suite fuzz
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build-asan/build.ninja ]; then
    CC=clang meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dfuzz=enabled >/dev/null
fi
meson compile -C build-asan >/dev/null
if [ $# -eq 0 ]; then
    set -- --suite unit --suite janitor --suite fuzz --suite e2e
fi
meson test -C build-asan --print-errorlogs "$@"
