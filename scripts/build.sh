#!/bin/sh
# build.sh: configure (once) and build lruleak into ./build.
#
# Usage: scripts/build.sh [MESON_SETUP_OPTIONS...]
# Extra options are passed to `meson setup` the first time, e.g. -Dwerror=true.
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
    meson setup build "$@" >/dev/null
fi
meson compile -C build >/dev/null
echo "build.sh: built build/cli/lruleak and build/agent/liblruleak.so" >&2
