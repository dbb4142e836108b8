#!/bin/sh
# check-exports.sh: fail when the agent exports anything but what agent.sym lists.
#
# Usage: scripts/check-exports.sh path/to/liblruleak.so path/to/agent.sym
# Compares `nm -D --defined-only` of the built agent (minus version nodes)
# with the global: names of the version script; also checks that the agent
# has no undefined reference to any Py* symbol being satisfied at link time
# (it must resolve Python at run time) and no DT_NEEDED libpython.
set -eu

so=$1
sym=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' | sed 's/@.*//' | sort -u >"$tmp/actual"
# Every "name;" entry of the version script (its nodes' global: lists;
# "local: *;" is no name).
grep -E '^[[:space:]]+[A-Za-z_][A-Za-z0-9_]*;[[:space:]]*$' "$sym" | tr -d ' \t;' |
    sort -u >"$tmp/expected"

if ! diff -u "$tmp/expected" "$tmp/actual"; then
    echo "check-exports: $so exports differ from $sym (- expected, + actual)" >&2
    exit 1
fi
if readelf -d "$so" | grep -q 'NEEDED.*libpython'; then
    echo "check-exports: $so links libpython; it must resolve Python at run time" >&2
    exit 1
fi
echo "check-exports: $(wc -l <"$tmp/actual") exported symbols, as listed in agent.sym"
