#!/bin/sh
# in-root.sh: run a command inside another Debian root (the version matrix's
# sid root), in the same working directory and with the same environment.
#
# Usage: scripts/in-root.sh ROOT CMD [ARGS...]
# The caller (scripts/run-matrix.sh) has bind-mounted /proc, /dev and the
# source and build trees at their own paths inside ROOT, so every absolute
# path a test uses means the same file on both sides. With ROOT "/" the
# command runs directly. Used as `meson test --wrapper`.
set -eu
root=$1
shift
if [ "$root" = / ]; then
    exec "$@"
fi
exec chroot "$root" /bin/sh -c 'cd "$1" && shift && exec "$@"' in-root "$(pwd)" "$@"
