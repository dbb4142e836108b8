#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench.sh: the lruleak benchmark, pure-Python scanner vs the agent, in one run.
#
# Usage: scripts/bench.sh [bench.py options, e.g. --instances 100000 --entries-per-instance 10]
#
# Environment:
#   BUILD_DIR          meson build directory holding agent/liblruleak.so (default: ./build)
#   PYTHON             interpreter to benchmark (default: python3)
#   LRULEAK_INTERVAL   agent sampling interval in seconds for the agent run (default: 0.1)
#   SERVICE_INTERVAL   the same for the service-like heap's phases (default: 0.25)
#   KEEP               1: keep the temporary directory (results, the agent's recording)
#
# It runs scripts/bench.py twice on the same deterministic heap (~1,000,000
# cache entries): once without the agent (the pure-Python scanner, then the
# workload) and once under LD_PRELOAD with LRULEAK_RECORD (the agent's
# samples, the pure-Python counts in that process, then the workload), and
# prints one side-by-side table; then the service-like heap of
# scripts/bench-service.py (900,000 unbounded and 100,000 bounded entries)
# through a steady and a growth phase, without and with the agent, in a
# second table. This is a benchmark, not a test: it never
# fails on a missed target, it reports it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"

build=${BUILD_DIR:-build}
python=${PYTHON:-python3}
interval=${LRULEAK_INTERVAL:-0.1}
agent="$root/$build/agent/liblruleak.so"
case $build in /*) agent="$build/agent/liblruleak.so" ;; esac

# Resolve the real interpreter: a wrapper (pyenv shim, venv script) must not
# be the process the agent is preloaded into.
exe=$("$python" -c 'import sys; print(sys.executable)')
version=$("$exe" -c 'import sys; print(sys.version.replace("\n", " "))')

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lruleak-bench.XXXXXX")
cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then
		echo "bench.sh: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$tmp/record" "$tmp/sock"
chmod 700 "$tmp/sock"

echo "== lruleak benchmark"
echo "interpreter: $exe ($version)"
echo "command:     BUILD_DIR=$build PYTHON=$python LRULEAK_INTERVAL=$interval scripts/bench.sh $*"
echo "agent:       $agent"
echo "machine:     $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') at start"
echo

echo "-- run 1: without the agent (pure-Python scanner)" >&2
"$exe" scripts/bench.py --mode pyscan --json "$tmp/pyscan.json" "$@"

: >"$tmp/agent.json"
if [ -f "$agent" ]; then
	echo "-- run 2: with the agent (LRULEAK_INTERVAL=$interval)" >&2
	if ! env LD_PRELOAD="$agent" LRULEAK_RECORD="$tmp/record" LRULEAK_DIR="$tmp/sock" \
		LRULEAK_INTERVAL="$interval" \
		"$exe" scripts/bench.py --mode agent --json "$tmp/agent.json" "$@"; then
		echo "bench.sh: the agent run failed; its recording:" >&2
		ls -l "$tmp/record" >&2 || :
		: >"$tmp/agent.json"
	fi
else
	echo "bench.sh: no agent at $agent (build it: meson setup $build && meson compile -C $build)" >&2
fi

echo
"$exe" scripts/bench.py --table "$tmp/pyscan.json" "$tmp/agent.json" --record "$tmp/record"

# The service-like heap (scripts/bench-service.py): a steady phase (cache
# hits only) and a growth phase (new leaking instances), sampled every
# SERVICE_INTERVAL seconds.
service_interval=${SERVICE_INTERVAL:-0.25}
mkdir -p "$tmp/service-record"
echo "-- run 3: service-like heap without the agent" >&2
"$exe" scripts/bench-service.py --mode pyscan --json "$tmp/service-pyscan.json"
: >"$tmp/service-agent.json"
if [ -f "$agent" ]; then
	echo "-- run 4: service-like heap with the agent (interval $service_interval)" >&2
	env LD_PRELOAD="$agent" LRULEAK_RECORD="$tmp/service-record" LRULEAK_DIR="$tmp/sock" \
		LRULEAK_INTERVAL="$service_interval" \
		"$exe" scripts/bench-service.py --mode agent --json "$tmp/service-agent.json" ||
		: >"$tmp/service-agent.json"
fi
echo
"$exe" scripts/bench-service.py --table "$tmp/service-pyscan.json" "$tmp/service-agent.json"
