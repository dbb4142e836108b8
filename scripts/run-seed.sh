#!/bin/sh
# run-seed.sh: install what is missing, build, and run the bundled seed
# example under `lruleak run`, which prints its leak report.
#
# Usage: scripts/run-seed.sh [PYTHON]     (default: python3 on PATH)
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
py=${1:-python3}
dir=$(mktemp -d "${TMPDIR:-/tmp}/lruleak-seed.XXXXXX")
trap 'rm -rf "$dir"' EXIT
# The recording goes to a scratch file; `lruleak report` can render it again.
build/cli/lruleak run --output "$dir/seed.jsonl" -- "$py" tests/scenarios/seed.py
