#!/bin/sh
# in-private-dir.sh: run a command with LRULEAK_DIR set to a new empty
# private directory, removed afterwards. Used by tests that must not see
# (or leave) anybody else's agent sockets.
#
# Usage: scripts/in-private-dir.sh COMMAND [ARGS...]
set -eu
dir=$(mktemp -d "${TMPDIR:-/tmp}/lruleak-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT
LRULEAK_DIR=$dir "$@"
