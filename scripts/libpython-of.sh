#!/bin/sh
# libpython-of.sh: print the shared libpython an --enable-shared interpreter
# uses (nothing, exit 0, when it has none: the caller skips).
#
# Usage: scripts/libpython-of.sh PYTHON
set -eu
[ -n "${1:-}" ] || exit 0
"$1" -c 'import os, sysconfig
lib = os.path.join(sysconfig.get_config_var("LIBDIR") or "", sysconfig.get_config_var("LDLIBRARY") or "")
print(lib if lib.endswith(".so") or ".so." in lib else "")' 2>/dev/null || true
