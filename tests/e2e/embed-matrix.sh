#!/bin/sh
# embed-matrix.sh: the RTLD_LOCAL embedding test (hosts/embed-local.c) for
# the version matrix's interpreter in $PYTHON: finds its shared libpython
# (skips, exit 77, when it has none) and its prefix, then runs the embedder.
#
# Usage: embed-matrix.sh EMBED_LOCAL AGENT_DIR SCRIPT.py LIBPYTHON_OF_SH
set -eu
lib=$("$4" "$PYTHON")
if [ -z "$lib" ]; then
    echo "embed-matrix: $PYTHON has no shared libpython: skipping" >&2
    exit 77
fi
PYTHONHOME=$("$PYTHON" -c 'import sys; print(sys.prefix)')
export PYTHONHOME PYTHONDONTWRITEBYTECODE=1
exec "$1" "$lib" "$2" "$3"
