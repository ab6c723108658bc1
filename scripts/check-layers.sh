#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/check-layers.sh - keeps heapkit's layers pointing one way:
#   common  <-  heap  <-  debug (the heap's observer)
# The heap owns its observer interface (src/heap/observe.h) and calls it;
# src/debug implements it. So:
#   1. src/common and src/heap include nothing from src/debug, and common
#      nothing from src/heap;
#   2. src/common and src/heap name no debug-layer function (hk__dbg_*,
#      hk_debug_*); the hk__obs_* hooks they call are all declared in
#      src/heap/observe.h, and common calls none;
#   3. src/debug changes no field of the heap's index or counters and
#      calls none of the heap's operations that do: where damage needs
#      repair it notes it (hk__heap_flag) and the heap repairs it.
# Comments are stripped before matching. Exit 0 clean, 1 with each offence
# listed as file:line. Runs in well under a second (stage 12-integration).
set -u
cd "$(dirname "$0")/.."
fail=0
bad() { echo "check-layers: $1"; printf '%s\n' "$2" | sed 's/^/    /'; fail=1; }

# code of the given files with /* */ and // comments blanked (lines kept)
code() {
    for f in "$@"; do
        [ -f "$f" ] || continue
        awk -v F="$f" '
            { line = $0; out = ""
              while (length(line)) {
                  if (inc) { e = index(line, "*/"); if (!e) { line = ""; break }
                             line = substr(line, e + 2); inc = 0; continue }
                  s = index(line, "/*"); d = index(line, "//")
                  if (d && (!s || d < s)) { out = out substr(line, 1, d - 1); line = ""; break }
                  if (!s) { out = out line; line = ""; break }
                  out = out substr(line, 1, s - 1); line = substr(line, s + 2); inc = 1
              }
              print F ":" FNR ":" out }' "$f"
    done
}

lower=(src/common/*.c src/common/*.h src/heap/*.c src/heap/*.h)
common=(src/common/*.c src/common/*.h)
debug=(src/debug/*.c src/debug/*.h)

hits=$(code "${lower[@]}" | grep -E '#[[:space:]]*include[[:space:]]*"(\.\./)*debug/')
[ -z "$hits" ] || bad 'src/heap or src/common includes a debug header' "$hits"
hits=$(code "${common[@]}" | grep -E '#[[:space:]]*include[[:space:]]*"(\.\./)*heap/')
[ -z "$hits" ] || bad 'src/common includes a heap header' "$hits"

hits=$(code "${lower[@]}" | grep -E '\b(hk__dbg_|hk_debug_)[A-Za-z0-9_]*')
[ -z "$hits" ] || bad 'src/heap or src/common names a debug-layer function' "$hits"
hits=$(code "${common[@]}" | grep -E '\bhk__obs_')
[ -z "$hits" ] || bad 'src/common calls an observer hook' "$hits"
declared=$(code src/heap/observe.h | grep -oE '\bhk__obs_[A-Za-z0-9_]+[[:space:]]*\(' |
           grep -oE 'hk__obs_[A-Za-z0-9_]+' | sort -u)
for name in $(code "${lower[@]}" | grep -oE '\bhk__obs_[A-Za-z0-9_]+' | sort -u); do
    grep -qx "$name" <<<"$declared" ||
        bad "src/heap calls $name, which src/heap/observe.h does not declare" \
            "$(code "${lower[@]}" | grep -E "\b$name\b" | head -3)"
done

fields='free_blocks|requested|allocs|frees|failed_allocs|usage|heads|list|fl_bitmap|sl_bitmap'
fields+='|quick|bad|bad_why|regions|nregions|lo|hi|span|gate|magic'
lhs="->($fields)\\b(\\.[a-z_]+)?(\\[[^]]*\\])?[[:space:]]*([-+*/|&^]?=[^=]|\\+\\+|--)"
hits=$(code "${debug[@]}" | grep -E -- "$lhs|(\\+\\+|--)[[:space:]]*[a-z_]+->($fields)\\b")
[ -z "$hits" ] || bad "src/debug writes the heap's index or counters" "$hits"
ops='hk__heap_(recover|alloc|free_block|release|carve|flush|add_region)|hk__usage_[a-z]+'
ops+='|index_(insert|remove|take)|tlsf_(insert|insert_at|remove|unlink|replace)'
ops+='|heap_(carve|release|free_block|account_used)'
hits=$(code "${debug[@]}" | grep -E "\\b($ops)[[:space:]]*\\(")
[ -z "$hits" ] || bad "src/debug runs a heap operation that changes the index or counters" "$hits"

[ $fail -eq 0 ] && echo "check-layers: common <- heap <- debug, no way back: ok"
exit $fail
