#!/bin/sh
# find-shared-python.sh: print the path of a CPython built with --enable-shared
# (the executable itself has a DT_NEEDED entry for libpython), for the e2e
# suite's "-shared" runs. Prints nothing (and exits 0) when there is none.
#
# Usage: scripts/find-shared-python.sh [CANDIDATE...]
#
# Candidates are tried in order: the arguments, then pyenv's 3.12.1, then
# the other pyenv versions 3.8 and newer (newest first), then python3.X on
# PATH. A candidate qualifies when sysconfig says Py_ENABLE_SHARED and
# `readelf -d` shows libpython among its DT_NEEDED entries. sysconfig alone
# is not enough: Debian's /usr/bin/python3.11 links libpython statically
# into the executable but reports Py_ENABLE_SHARED=1.
set -eu

pyenv_versions="${PYENV_ROOT:-${HOME:-/nonexistent}/.pyenv}/versions"

needs_libpython() {
    if command -v readelf >/dev/null 2>&1; then
        readelf -d "$1" 2>/dev/null | grep -q 'NEEDED.*\[libpython'
    else
        ldd "$1" 2>/dev/null | grep -q 'libpython'
    fi
}

qualifies() {
    [ -x "$1" ] || return 1
    shared=$("$1" -c 'import sys, sysconfig
print(int(sys.version_info >= (3, 8) and bool(sysconfig.get_config_var("Py_ENABLE_SHARED"))))' \
        2>/dev/null) || return 1
    [ "$shared" = 1 ] || return 1
    needs_libpython "$1"
}

candidates() {
    for c in "$@"; do
        printf '%s\n' "$c"
    done
    printf '%s\n' "$pyenv_versions/3.12.1/bin/python3"
    # newest first: sort on the numeric minor and patch fields
    for d in "$pyenv_versions"/3.*; do
        [ -d "$d" ] && printf '%s\n' "${d##*/}"
    done | sort -t. -k2,2nr -k3,3nr | while read -r v; do
        printf '%s\n' "$pyenv_versions/$v/bin/python3"
    done
    for m in 14 13 12 11 10 9 8; do
        p=$(command -v "python3.$m" 2>/dev/null) || continue
        printf '%s\n' "$p"
    done
}

candidates "$@" | while read -r c; do
    if qualifies "$c"; then
        printf '%s\n' "$c"
        break
    fi
done
