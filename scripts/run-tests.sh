#!/bin/sh
# run-tests.sh: install what is missing, build with warnings as errors, and
# run every test suite (unit, janitor, e2e on Debian's python3.11 and a
# pyenv build), then the unit tests under valgrind, then the e2e suite once
# per interpreter of the version matrix (scripts/run-matrix.sh: CPython 3.8
# to 3.15, static and shared, release and debug; it prints a table).
# This is what CI runs.
#
# Usage: scripts/run-tests.sh [MESON_TEST_OPTIONS...]   e.g. --suite unit
# With options, only `meson test OPTIONS` runs (no valgrind, no matrix).
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh -Dwerror=true
meson test -C build --print-errorlogs "$@"
# The unit tests again under valgrind memcheck (no leaks, no invalid access).
if [ $# -eq 0 ]; then
    meson test -C build --print-errorlogs --setup=valgrind --suite unit
    scripts/run-matrix.sh
fi
