#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/check-headerbits.sh - the header bits of the heap's blocks are
# touched in src/heap/block.h only: everywhere else goes through its
# noun_verb accessors (block_size, block_set_free, ...).
#
#   scripts/check-headerbits.sh            check src/ of this tree
#   scripts/check-headerbits.sh DIR        check DIR/src instead
#   scripts/check-headerbits.sh --self-test   prove the check on a planted tree
#
# A use is, in a code line of src/**/*.c or *.h other than block.h (comments
# are skipped):
#   - any HK_BF_* name (the flag bits; no other allocator has them), or
#   - a direct `->head` / `.head` in a file that sees hk_block_t: those under
#     src/heap/ and those that include a heap/ header or name hk_block_t.
#     Other allocators' own structs with a `head` field (ring, pages, rec,
#     malloc) do not include the heap's headers and are not counted.
# Prints every use as file:line: text, then the count; exit 0 when there is
# none, 1 otherwise. About a second.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)

check() {  # root -> prints uses and the summary; returns 0 iff none
    local root=$1 f
    local -a files=() blockfiles=()
    mapfile -t files < <(cd "$root" && find src -type f \( -name '*.c' -o -name '*.h' \) |
                         grep -v '^src/heap/block\.h$' | LC_ALL=C sort)
    for f in "${files[@]}"; do
        case $f in
        src/heap/*) blockfiles+=("$f") ;;
        *) grep -qE '#include "heap/|\bhk_block_t\b' "$root/$f" && blockfiles+=("$f") ;;
        esac
    done
    local out
    out=$(cd "$root" && awk -v blocks=" ${blockfiles[*]} " '
        FNR == 1 { inc = 0; isblock = index(blocks, " " FILENAME " ") > 0 }
        {
            line = $0
            # drop comments: the rest of a block comment, whole ones, // ones
            if (inc) {
                e = index(line, "*/")
                if (!e) next
                line = substr(line, e + 2); inc = 0
            }
            while ((s = index(line, "/*")) > 0) {
                rest = substr(line, s + 2); e = index(rest, "*/")
                if (!e) { line = substr(line, 1, s - 1); inc = 1; break }
                line = substr(line, 1, s - 1) " " substr(rest, e + 2)
            }
            sub(/\/\/.*/, "", line)
            n = 0; t = line
            while (match(t, /HK_BF_[A-Z0-9_]+/)) { n++; t = substr(t, RSTART + RLENGTH) }
            if (isblock) {
                t = line
                while (match(t, /(->|\.)[ \t]*head([^A-Za-z0-9_]|$)/)) { n++; t = substr(t, RSTART + RLENGTH) }
            }
            if (n) { total += n; lines++; printf "%s:%d: %s\n", FILENAME, FNR, $0 }
        }
        END { printf "#count %d %d\n", lines, total }
    ' "${files[@]}")
    local counts nlines nuses
    counts=$(printf '%s\n' "$out" | tail -1)
    nlines=$(echo "$counts" | cut -d' ' -f2) nuses=$(echo "$counts" | cut -d' ' -f3)
    printf '%s\n' "$out" | sed '$d'
    if [ "${nuses:-0}" -eq 0 ]; then
        echo "check-headerbits: ok, no heap block header bits outside src/heap/block.h"
        return 0
    fi
    echo "check-headerbits: $nuses uses on $nlines lines of heap block header bits" \
         "(HK_BF_*, ->head of an hk_block_t) outside src/heap/block.h:" \
         "use its accessors, or add one there"
    return 1
}

self_test() {
    local t rc bad=0
    t=$(mktemp -d)
    trap 'rm -rf "$t"' RETURN
    mkdir -p "$t/src/heap" "$t/src/ring" "$t/src/debug" "$t/src/pool"
    cat >"$t/src/heap/block.h" <<'EOF'
#define HK_BF_FREE ((size_t)1)
static inline size_t block_size(const hk_block_t *b) { return b->head & ~HK_BF_FREE; }
EOF
    cat >"$t/src/heap/heap.c" <<'EOF'
#include "heap/block.h"
/* b->head and HK_BF_FREE in a comment are not uses */
size_t f(hk_block_t *b) { return block_size(b); } // b->head
EOF
    cat >"$t/src/ring/ring.c" <<'EOF'
struct ring { size_t head; };
size_t g(struct ring *r) { return r->head + r[0].head; }
EOF
    check "$t" >"$t/log"; rc=$?
    [ $rc -eq 0 ] || { echo "self-test: a clean tree failed"; cat "$t/log"; bad=1; }
    # plant three uses: a flag in another allocator, a ->head and a . head in
    # a file that includes the heap's headers, and one after a comment
    echo 'size_t h(size_t x) { return x & HK_BF_FREE; }' >>"$t/src/pool/pool.c"
    cat >"$t/src/debug/debug.c" <<'EOF'
#include "heap/block.h"
size_t d(hk_block_t *b, hk_block_t c) { return b->head; }
/* a comment */ size_t e(hk_block_t c) { return c. head; }
EOF
    check "$t" >"$t/log"; rc=$?
    if [ $rc -ne 1 ] || ! grep -q '^check-headerbits: 3 uses on 3 lines' "$t/log" ||
       ! grep -q '^src/pool/pool.c:1:' "$t/log" || ! grep -q '^src/debug/debug.c:2:' "$t/log" ||
       ! grep -q '^src/debug/debug.c:3:' "$t/log" || grep -q 'src/ring' "$t/log"; then
        echo "self-test: the planted uses were not reported exactly"; cat "$t/log"; bad=1
    fi
    [ $bad -eq 0 ] && echo "check-headerbits: self-test ok"
    return $bad
}

case ${1:-} in
--self-test) self_test ;;
"") check "$here" ;;
*) check "$(cd "$1" && pwd)" ;;
esac
