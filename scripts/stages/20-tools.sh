#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/stages/20-tools.sh - the trace tools on real data (issue 3).
#   1. every small CMU trace in ../shared/traces replayed on every heapkit
#      policy with hk_heap_validate after every op, pattern-checked blocks,
#      and the end check (everything freed = one free block); the real
#      sqlite3 trace likewise, validating every 1000 ops;
#   2. the recorder on real programs: `sort` (output must not change) and a
#      multi-threaded, forking test program; each recording converted and
#      replayed with validation on every policy.
# Exit 0 pass, 77 skipped (prints why), anything else fail.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
traces=${HK_TRACES:-$root/../shared/traces}
build=$root/build/stage-tools
out=$build/out

if [ ! -d "$traces" ]; then
    echo "20-tools: skipped: no traces at $traces"; exit 77
fi
for tool in cmake sort; do
    command -v $tool >/dev/null || { echo "20-tools: skipped: $tool not installed"; exit 77; }
done

echo "20-tools: building the tools in $build"
if ! cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHK_BUILD_TESTS=OFF \
        -DHK_INTERNAL_ASSERTS=ON >"$build.log" 2>&1 ||
   ! cmake --build "$build" -j2 --target hk-replay hk-trace-conv hk_trace hk-rec-selftest \
        >>"$build.log" 2>&1; then
    tail -30 "$build.log"; echo "20-tools: FAILED to build"; exit 1
fi
bin=$build/tools
rm -rf "$out"; mkdir -p "$out"
fail=0

step() {  # name command...
    local name=$1; shift
    local t0=$SECONDS
    if "$@" >"$out/$name.log" 2>&1; then
        echo "  ok    $name ($((SECONDS-t0))s)"
    else
        echo "  FAIL  $name"; sed 's/^/        /' "$out/$name.log" | tail -25; fail=1
    fi
}

# 1. replays with validation
small=$(ls "$traces"/*.rep)
step replay-cmu "$bin/hk-replay" --alloc heapkit --validate-every 1 --no-cycles --quiet $small
if [ -e "$traces/real-sqlite3.rep.xz" ]; then
    step replay-sqlite3 "$bin/hk-replay" --alloc heapkit --validate-every 1000 --no-cycles \
        --quiet "$traces/real-sqlite3.rep.xz"
fi
# the memory search and the maps on one small trace
step replay-mem-maps "$bin/hk-replay" --alloc heapkit --mem --maps "$out/maps" --frag \
    "$out/frag.csv" --no-cycles --quiet "$traces/amptjp-bal.rep"
check_maps() {
    for p in tlsf first best; do
        grep -q '<svg' "$out/maps/heapmap-amptjp-bal-$p.svg" || return 1
    done
    [ "$(wc -l <"$out/frag.csv")" -gt 100 ] || return 1
    # every memory ratio is a number >= 1 and below 3
    "$bin/hk-replay" --alloc tlsf --mem --csv --no-cycles --quiet "$traces/short1-bal.rep" |
        awk -F, 'NR==2 { exit !($9 >= 1.0 && $9 < 3.0 && $3 == 1) }'
}
step maps-and-csv check_maps

# 2. the recorder
rec() {  # name program args... : record, convert, replay on every policy
    local name=$1; shift
    rm -f "$out/$name.hkrec"*
    LD_PRELOAD=$bin/libhk_trace.so HK_TRACE_OUT=$out/$name.hkrec "$@" >"$out/$name.stdout" || return 1
    local f
    for f in "$out/$name.hkrec"*; do
        case $f in *.rep) continue;; esac
        "$bin/hk-trace-conv" "$f" "$f.rep" 2>"$f.conv" || return 1
        cat "$f.conv"
        grep -q " 0 missed frees" "$f.conv" || return 1
        "$bin/hk-replay" --alloc heapkit,glibc --validate-every 1 --no-cycles --quiet "$f.rep" ||
            return 1
    done
    [ -s "$out/$name.hkrec.rep" ] || return 1
    [ "$(sed -n 3p "$out/$name.hkrec.rep")" -gt 10 ] # at least a few ops were recorded
}
rec_sort() {
    seq 1 20000 | awk '{ print ($1 * 7919) % 20011 }' >"$out/sort.in"
    sort "$out/sort.in" >"$out/sort.expected"
    rec sort sort "$out/sort.in" || return 1
    cmp "$out/sort.stdout" "$out/sort.expected"
}
step recorder-sort rec_sort
rec_selftest() {
    rec selftest "$bin/hk-rec-selftest" || return 1
    # the forked child wrote its own file, and ended with _exit: nothing lost
    ls "$out"/selftest.hkrec.*.rep >/dev/null 2>&1 || return 1
    for f in "$out"/selftest.hkrec*.conv; do
        grep -q " 0 frees of unknown blocks dropped" "$f" || return 1
    done
}
step recorder-threads-fork rec_selftest
# a malformed trace is rejected with its line and reason
bad_trace() {
    printf '10\n2\n2\n1\na 0 8\nf 1\n' >"$out/bad.rep"
    if "$bin/hk-replay" --alloc tlsf --quiet "$out/bad.rep" 2>"$out/bad.err"; then return 1; fi
    grep -q "bad.rep:6: free of id 1, which is not live" "$out/bad.err"
}
step rejects-bad-trace bad_trace

[ $fail -eq 0 ] && echo "20-tools: all passed" || echo "20-tools: FAILED"
exit $fail
