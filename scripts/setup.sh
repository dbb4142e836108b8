#!/bin/sh
# setup.sh: install what building and testing lruleak needs, if missing.
#
# Usage: scripts/setup.sh        (as root on Debian; a no-op when all is there)
# Packages: the meson/ninja toolchain, the check unit-test framework, Debian's
# python3.11 (libpython linked into the executable, one of the e2e targets),
# libunwind's ptrace library (lruleak attach inspects stopped threads with it),
# valgrind for the memcheck test setup, socat for the README's protocol example
# and the security test; clang with its sanitizer and libFuzzer runtimes and
# llvm (llvm-symbolizer: sanitizer reports with file:line) for the sanitized
# build and the fuzz targets (scripts/run-sanitized.sh); pytest, pytest-xdist
# and jsonschema for Debian's python3 (the pytest e2e tests: the fixture
# suite, xdist workers, SARIF schema validation); jsonschema, Pygments, Rich,
# PyJWT and Arrow for the real-world corpus (test-e2e-corpus); Debian's chromium,
# run headless by the html suite (the HTML report rendered in a real browser);
# libmicrohttpd (the HTTP server of `lruleak metrics --listen`, CLI only) and
# prometheus (its server and promtool, for the metrics e2e tests, which start
# their own instance on a free loopback port with a temporary data directory:
# the packaged service, when the machine starts it, is neither used nor in the
# way).
# libpython3.11-testsuite, CPython's regression tests for python3.11 (the
# cpython suite); clang-format (the janitor suite's format check).
set -eu

pkgs="meson ninja-build pkg-config gcc libc6-dev check libunwind-dev python3.11 valgrind socat
      clang libclang-rt-14-dev llvm-14 python3-pytest python3-pytest-xdist python3-jsonschema
      python3-pygments python3-rich python3-jwt python3-arrow chromium libmicrohttpd-dev
      prometheus libpython3.11-testsuite clang-format"
missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: missing packages:$missing (run as root, or install them)" >&2
    exit 1
fi
echo "setup.sh: installing$missing" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
