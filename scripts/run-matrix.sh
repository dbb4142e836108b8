#!/bin/sh
# run-matrix.sh: the end-to-end suite once per interpreter of the version
# matrix (scripts/prepare-pythons.sh), then a table: interpreter, version,
# layout, build, what the agent said, passed/failed/skipped, verdict.
#
# Usage: scripts/run-matrix.sh [LABEL...]     (as root; default: every interpreter)
# Environment: BUILD_DIR (default build; configured and built if needed).
# Exit status: 1 when a required interpreter failed a test; the next CPython
# (policy allowed-to-fail) is reported but does not fail the run.
#
# Interpreters of another root (Debian sid) run through scripts/in-root.sh:
# /proc, /dev and the source and build trees are bind-mounted at their own
# paths inside that root for the duration of the run, and unmounted after.
set -eu
cd "$(dirname "$0")/.."
src=$(pwd -P)
build_dir=${BUILD_DIR:-build}
[ -f "$build_dir/build.ninja" ] || scripts/build.sh >/dev/null
build=$(cd "$build_dir" && pwd -P)
ninja -C "$build" >/dev/null
agent="$build/agent/liblruleak.so"

scripts/prepare-pythons.sh
list=$(scripts/prepare-pythons.sh --list)

mounted=""
cleanup() {
    for m in $mounted; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bind() {   # SRC DST: bind-mount SRC on DST unless something is mounted there
    mkdir -p "$2"
    if ! mountpoint -q "$2"; then
        mount --bind "$1" "$2"
        mounted="$2 $mounted"
    fi
}

prepare_root() {   # ROOT
    [ "$1" = / ] && return 0
    case " $prepared_roots " in *" $1 "*) return 0 ;; esac
    bind /proc "$1/proc"
    bind /dev "$1/dev"
    bind "$src" "$1$src"
    case "$build/" in
        "$src"/*) ;;
        *) bind "$build" "$1$build" ;;
    esac
    prepared_roots="$prepared_roots $1"
}
prepared_roots=""

# What the interpreter is, and what the agent makes of it (its log line).
probe() {   # ROOT PYTHON LOG
    scripts/in-root.sh "$1" "$2" -c 'import sys, sysconfig
maps = open("/proc/self/maps").read()  # Debian: Py_ENABLE_SHARED=1, yet static
layout = "shared" if "/libpython" in maps else "static"
build = "debug" if hasattr(sys, "gettotalrefcount") else "release"
print(sys.version.split()[0], layout, build)' </dev/null 2>/dev/null || echo "? ? ?"
    rm -f "$3"
    LD_PRELOAD="$agent" LRULEAK_LOG="$3" LRULEAK_INTERVAL=0.05 LRULEAK_DIR="$build/matrix-sock" \
        scripts/in-root.sh "$1" "$2" -c 'import functools, time; time.sleep(0.5)' \
        </dev/null >/dev/null 2>&1 || true
}

agent_said() {   # LOG
    if grep -q "sampling CPython" "$1" 2>/dev/null; then
        echo "sampling"
    elif grep -q "inert: " "$1" 2>/dev/null; then
        sed -n 's/.*inert: //p' "$1" | head -n 1
    else
        echo "(no log line)"
    fi
}

count() {   # OUTPUT LABEL...: sum of meson test's summary lines "LABEL: N"
    f=$1; shift
    n=0
    for r in "$@"; do
        c=$(sed -n "s/^$r: *\([0-9][0-9]*\).*/\1/p" "$f" 2>/dev/null | tail -n 1)
        n=$((n + ${c:-0}))
    done
    echo "$n"
}

mkdir -p "$build/matrix-sock"
chmod 700 "$build/matrix-sock"
table="$build/matrix.txt"
: >"$table"
failed_required=0
start=$(date +%s)

tab=$(printf '\t')
while IFS="$tab" read -r label root python policy; do
    if [ $# -gt 0 ]; then
        case " $* " in *" $label "*) ;; *) continue ;; esac
    fi
    prepare_root "$root"
    t0=$(date +%s)
    read -r version layout kind <<EOF
$(probe "$root" "$python" "$build/matrix-$label.agent.log")
EOF
    said=$(agent_said "$build/matrix-$label.agent.log")
    echo "== $label: CPython $version ($layout, $kind) in $root: agent $said" >&2
    rc=0
    PYTHON="$python" meson test -C "$build" --setup=matrix --suite matrix --no-rebuild \
        --logbase "matrix-$label" --wrapper "$src/scripts/in-root.sh $root" \
        </dev/null >"$build/matrix-$label.out" 2>&1 || rc=$?
    out="$build/matrix-$label.out"
    ok=$(count "$out" Ok "Expected Fail")
    bad=$(count "$out" Fail "Unexpected Pass" Timeout)
    skip=$(count "$out" Skipped)
    if [ "$rc" -eq 0 ] && [ "$bad" -eq 0 ]; then
        verdict=ok
    elif [ "$policy" = allowed-to-fail ]; then
        verdict="failed (allowed: next CPython)"
    else
        verdict=FAILED
        grep -E "^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT|ERROR)" "$build/matrix-$label.out" >&2 || true
        log=$(ls "$build"/meson-logs/matrix-"$label"*.txt)
        # The failed checks themselves (check's "file:line:F:case:test:" lines).
        grep -E "^[^ ]+:[0-9]+:[FE]:" "$log" | head -n 20 | sed 's/^/   /' >&2 || true
        echo "   full log: $log" >&2
    fi
    printf '%-16s %-8s %-7s %-8s %4s %4s %4s %4ss  %-30s %s\n' "$label" "$version" "$layout" \
        "$kind" "$ok" "$bad" "$skip" "$(($(date +%s) - t0))" "$verdict" "$said" >>"$table"
done <<EOF
$list
EOF

echo
printf '%-16s %-8s %-7s %-8s %4s %4s %4s %5s  %-30s %s\n' interpreter version layout build \
    pass fail skip time verdict agent
cat "$table"
echo "version matrix: $(($(date +%s) - start)) s; table in $table"
if grep -q " FAILED " "$table"; then
    exit 1
fi
