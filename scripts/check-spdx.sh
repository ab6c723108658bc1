#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/check-spdx.sh - every source file carries the license identifier.
#
#   scripts/check-spdx.sh            list the tracked files that lack
#                                    "SPDX-License-Identifier: MIT" in their
#                                    first 3 lines; exit 1 if there are any
#   scripts/check-spdx.sh --fix      add it: "/* SPDX-License-Identifier: MIT */"
#                                    as line 1 of .c/.h/.cpp files, and
#                                    "# SPDX-License-Identifier: MIT" as line 1
#                                    (after the shebang, if any) of .sh, .cmake,
#                                    .py and CMakeLists.txt files
#   scripts/check-spdx.sh FILE...    only these files
# Files checked: git's tracked files (or those given) with the extensions
# above; third-party inputs (traces, corpora, results) have none of them.
set -u
cd "$(dirname "$0")/.."
fix=0
if [ "${1:-}" = --fix ]; then fix=1; shift; fi
tag='SPDX-License-Identifier: MIT'

if [ $# -gt 0 ]; then
    files=("$@")
else
    mapfile -t files < <(git ls-files -- '*.c' '*.h' '*.cpp' '*.sh' '*.cmake' '*.py' \
                                        'CMakeLists.txt' '*/CMakeLists.txt')
fi

missing=0
for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    head -3 "$f" | grep -q "$tag" && continue
    missing=$((missing + 1))
    if [ $fix -eq 0 ]; then
        echo "$f"
        continue
    fi
    tmp=$(mktemp)
    case $f in
    *.c|*.h|*.cpp)
        { echo "/* $tag */"; cat "$f"; } >"$tmp" ;;
    *)
        if head -1 "$f" | grep -q '^#!'; then
            { head -1 "$f"; echo "# $tag"; tail -n +2 "$f"; } >"$tmp"
        else
            { echo "# $tag"; cat "$f"; } >"$tmp"
        fi ;;
    esac
    cat "$tmp" >"$f"   # keeps the file's mode (scripts stay executable)
    rm -f "$tmp"
    echo "fixed $f"
done
if [ $fix -eq 0 ] && [ $missing -gt 0 ]; then
    echo "check-spdx: $missing file(s) without '$tag' in their first 3 lines" >&2
    exit 1
fi
exit 0
