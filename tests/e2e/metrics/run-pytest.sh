#!/bin/sh
# run-pytest.sh: run one file of the metrics e2e tests under pytest.
#
# Usage: run-pytest.sh PYTHON3 TEST_FILE   (from meson; see tests/e2e/meson.build)
# Exits 77 (meson: SKIP) when PYTHON3 has no pytest; otherwise pytest's
# status (conftest.py turns "everything skipped" into 77 too).
set -eu
py="$1"
file="$2"
if [ -z "$py" ] || ! "$py" -c 'import pytest' 2>/dev/null; then
    echo "run-pytest.sh: no pytest for '$py' (Debian: python3-pytest)" >&2
    exit 77
fi
cd "$(dirname "$file")"
exec "$py" -m pytest -p no:cacheprovider -q -rs "$(basename "$file")"
