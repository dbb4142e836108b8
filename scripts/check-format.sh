#!/bin/sh
# check-format.sh: every C file of the repository is formatted as
# .clang-format says (the janitor suite runs it). Prints the files that are
# not and exits 1; `clang-format -i FILE` fixes one.
#
# Usage: scripts/check-format.sh [SOURCE_ROOT]
set -eu
cd "${1:-$(dirname "$0")/..}"
command -v clang-format >/dev/null || { echo "check-format: clang-format is not installed" >&2; exit 77; }
if [ -d .git ] && command -v git >/dev/null; then
    files=$(git ls-files --cached --others --exclude-standard "*.c" "*.h")
else
    files=$(find agent cli tests -name '*.[ch]' | sort)
fi
bad=""
for f in $files; do
    [ -f "$f" ] || continue
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        bad="$bad $f"
    fi
done
if [ -n "$bad" ]; then
    echo "check-format: not formatted as .clang-format says (clang-format -i fixes):" >&2
    for f in $bad; do echo "  $f" >&2; done
    exit 1
fi
echo "check-format: $(echo "$files" | wc -w) files formatted"
