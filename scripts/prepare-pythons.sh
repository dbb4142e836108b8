#!/bin/sh
# prepare-pythons.sh: make every interpreter of the version matrix available,
# idempotently (a second run only checks, in about a second), and list them.
#
# Usage: scripts/prepare-pythons.sh [--list]      (as root on Debian bookworm)
#
# Where they come from (nothing is built from source):
#   - pyenv's --enable-shared builds 3.8 .. 3.13 in $(pyenv root)/versions
#     (on this machine kind's image; listed when present, never installed);
#   - Debian bookworm's python3.11 and python3.11-dbg (libpython linked into
#     the executable), installed with apt-get;
#   - a Debian sid root made with `debootstrap --variant=minbase sid` in
#     $LRULEAK_SID_ROOT (default /var/lib/lruleak/sid), holding python3.13,
#     python3.14, python3.14-dbg, python3.15 and their shared libpythons
#     (the embedding test's shared layout of each), 3.14's regression tests
#     (libpython3.14-testsuite, for the cpython suite), plus the runtime
#     libraries the test programs built on the host need. Tests run in it through
#     scripts/in-root.sh.
#
# --list prints one line per interpreter, tab-separated:
#   label  root  python  policy
# root is / or the sid root (python is a path inside it); policy is
# "required" or "allowed-to-fail" (the next CPython, not supported yet).
set -eu

sid_root=${LRULEAK_SID_ROOT:-/var/lib/lruleak/sid}
sid_pkgs="python3.13 python3.14 python3.14-dbg python3.15 libpython3.13 libpython3.14 libpython3.15 libsubunit0 libunwind8 procps
          libpython3.14-testsuite python3-pytest libmicrohttpd12t64"
host_pkgs="python3.11 python3.11-dbg debootstrap"

list=false
[ "${1:-}" = "--list" ] && list=true

say() { echo "prepare-pythons: $*" >&2; }

missing_pkgs() {   # ROOT PKG...: the packages of PKG... not installed in ROOT
    root=$1; shift
    for p in "$@"; do
        if ! chroot "$root" dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q "install ok installed"; then
            printf ' %s' "$p"
        fi
    done
}

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        say "missing:$1 (run as root)"
        exit 1
    fi
}

# ---- bookworm ---------------------------------------------------------------
missing=$(missing_pkgs / $host_pkgs)
if [ -n "$missing" ]; then
    need_root "$missing"
    say "installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# ---- sid root ---------------------------------------------------------------
if [ ! -x "$sid_root/usr/bin/apt-get" ]; then
    need_root " a Debian sid root in $sid_root"
    say "debootstrap sid into $sid_root (about 30 s)"
    rm -rf "$sid_root"
    mkdir -p "$sid_root"
    debootstrap --variant=minbase sid "$sid_root" http://deb.debian.org/debian >/dev/null
fi
missing=$(missing_pkgs "$sid_root" $sid_pkgs)
if [ -n "$missing" ]; then
    need_root "$missing in $sid_root"
    say "installing$missing in $sid_root"
    cp /etc/resolv.conf "$sid_root/etc/resolv.conf" 2>/dev/null || true
    apt_opts="-o Acquire::Check-Valid-Until=false"  # the archive mirror may be a dated snapshot
    log="$sid_root/var/log/lruleak-prepare.log"
    if ! { chroot "$sid_root" apt-get $apt_opts update -qq &&
        chroot "$sid_root" env DEBIAN_FRONTEND=noninteractive \
            apt-get $apt_opts install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
        cat "$log" >&2
        say "installing$missing in $sid_root failed"
        exit 1
    fi
fi

$list || exit 0

# ---- the list -----------------------------------------------------------------
pyenv_root=$(pyenv root 2>/dev/null || echo /root/.pyenv)
for v in 3.8 3.9 3.10 3.11 3.12 3.13; do
    # the newest pyenv build of that minor version
    p=$(ls -d "$pyenv_root"/versions/"$v".* 2>/dev/null | sort -V | tail -n 1)
    [ -n "$p" ] && [ -x "$p/bin/python$v" ] &&
        printf 'pyenv-%s\t/\t%s\trequired\n' "$v" "$p/bin/python$v"
done
printf 'debian-3.11\t/\t/usr/bin/python3.11\trequired\n'
printf 'debian-3.11-dbg\t/\t/usr/bin/python3.11d\trequired\n'
printf 'sid-3.13\t%s\t/usr/bin/python3.13\trequired\n' "$sid_root"
printf 'sid-3.14\t%s\t/usr/bin/python3.14\trequired\n' "$sid_root"
printf 'sid-3.14-dbg\t%s\t/usr/bin/python3.14d\trequired\n' "$sid_root"
printf 'sid-3.15\t%s\t/usr/bin/python3.15\tallowed-to-fail\n' "$sid_root"
