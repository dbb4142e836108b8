#!/bin/sh
# libpython-of.sh: print the shared libpython an interpreter uses or ships
# with (nothing, exit 0, when there is none: the caller skips).
#
# Usage: scripts/libpython-of.sh PYTHON
# --enable-shared builds load it (LDLIBRARY); Debian's interpreters link
# libpython into the executable but name the shared copy from the
# libpython3.X package in INSTSONAME, which is used when it is installed.
set -eu
[ -n "${1:-}" ] || exit 0
"$1" -c 'import os, sysconfig
d = sysconfig.get_config_var("LIBDIR") or ""
for n in (sysconfig.get_config_var("LDLIBRARY"), sysconfig.get_config_var("INSTSONAME")):
    p = os.path.join(d, n or "")
    if n and ".so" in n and os.path.exists(p):
        print(p)
        break' 2>/dev/null || true
