#!/bin/sh
# run-tests.sh: install what is missing, build with warnings as errors, and
# run every test suite (unit, janitor, e2e on Debian's python3.11 and a
# pyenv build, the CLI under valgrind, stress, CPython's own regression
# tests without and with the agent on Debian's 3.11, pyenv's 3.12 and sid's
# 3.14: suite cpython), then the unit tests under
# valgrind, then the sanitized build's suites (scripts/run-sanitized.sh:
# ASan+UBSan, fuzz), then the e2e suite once per interpreter of the version
# matrix (scripts/run-matrix.sh: CPython 3.8 to 3.15, static and shared,
# release and debug; it prints a table).
# This is what CI runs.
#
# Usage: scripts/run-tests.sh [MESON_TEST_OPTIONS...]   e.g. --suite unit
# With options, only `meson test OPTIONS` runs (no valgrind, no matrix).
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh -Dwerror=true
if [ $# -eq 0 ]; then
    # The sid root (its python3.14 and libpython3.14-testsuite) for the
    # cpython suite; the version matrix below uses it too.
    scripts/prepare-pythons.sh
fi
meson test -C build --print-errorlogs "$@"
if [ $# -eq 0 ]; then
    # The unit tests again under valgrind memcheck (no leaks, no invalid access).
    meson test -C build --print-errorlogs --setup=valgrind --suite unit
    scripts/run-sanitized.sh
    scripts/run-matrix.sh
fi
