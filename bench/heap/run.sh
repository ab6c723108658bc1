#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/heap/run.sh - the heap's figures, checked against its goals, in
# under ten minutes on two cores. Writes bench/heap/RESULTS.md.
#
#   instr   instructions per call, malloc / free / realloc apart, on each
#           real-program trace: callgrind --toggle-collect='hb_*' on the
#           non-inlined wrappers of bench/heap/heapbench.c, gcc -O2 -DNDEBUG,
#           x86-64, no lock (the method of ../shared/traces/README.md)
#   worst   exact worst single call over EVERY call of each real-program
#           trace: one callgrind dump per call (--dump-after on each
#           wrapper), read and deleted by heapbench itself as it goes
#   memory  smallest arena (8-byte bisection, forked pattern-checked trials)
#           over peak live bytes, every trace in ../shared/traces and the
#           MCU trace in bench/heap/; the real-program traces again with
#           HK_ALIGN 8, the alignment of TLSF's reference figures
#   mcu     failed allocations on bench/heap/mcu-queues.rep in 29-33 KiB
#           heaps (heapbench --fails), TLSF against first fit
# HK_BENCH_FIT=first|best measures another policy; HK_BENCH_SKIP_WORST=1
# leaves the worst-case step out; HK_BENCH_WORST_PREFIX=N measures the worst
# case on the first N ops of each trace only (marked in the report);
# HK_BENCH_BEFORE=DIR adds a column with the figures of an earlier run's
# output directory (build/heapbench of it), HK_BENCH_BEFORE_NOTE says what
# that run was.
set -eu
cd "$(dirname "$0")/../.."
root=$PWD
traces=${HK_TRACES:-$root/../shared/traces}
[ -d "$traces" ] || [ -n "${HK_TRACES:-}" ] || traces=$root/../../shared/traces # a worktree
out=$root/build/heapbench
fit=${HK_BENCH_FIT:-tlsf}
mkdir -p "$out"
command -v valgrind >/dev/null || { echo "bench/heap: needs valgrind"; exit 77; }
[ -d "$traces" ] || { echo "bench/heap: no traces at $traces"; exit 77; }

echo "== build (gcc -O2 -DNDEBUG)"
# build_hb OUT LIBS FLAGS...: heapbench and the heap's sources, gcc -O2 -DNDEBUG
build_hb() {
    local o=$1 libs=$2; shift 2
    gcc -std=c11 -O2 -DNDEBUG "$@" -I include -I src -I tools/trace src/heap/*.c \
        src/common/*.c src/debug/*.c tools/trace/hk_trace.c bench/heap/heapbench.c -o "$o" $libs
}
# .rep.xz traces are read through liblzma (tools/trace)
build_hb "$out/heapbench" -llzma -DHK_TRACE_LZMA=1
hb=$out/heapbench
# the same at HK_ALIGN 8: the 8-byte granule TLSF's reference figures were
# measured with on x86-64 (its ALIGN_SIZE on 64-bit hosts), for the memory
# comparison at equal alignment
build_hb "$out/heapbench8" -llzma -DHK_ALIGN=8 -DHK_TRACE_LZMA=1
# the MCU figures: 32-bit, HK_ALIGN 8, as on a Cortex-M
# (the MCU trace is plain text: no liblzma needed for the 32-bit build)
build_hb "$out/heapbench32" "" -m32 -DHK_ALIGN=8 2>/dev/null || cp "$hb" "$out/heapbench32"
t0=$SECONDS
real=$(ls "$traces"/real-*.rep.xz | sort)
all="$(ls "$traces"/*.rep "$traces"/*.rep.xz | sort) $root/bench/heap/mcu-queues.rep"

kv() { grep "^$2=" "$1" | head -1 | cut -d= -f2; }

echo "== instructions per call"
for t in $real; do
    n=$(basename "$t" .rep.xz)
    nice -n 10 valgrind --tool=callgrind -q --collect-atstart=no --toggle-collect='hb_*' \
        --compress-strings=no --compress-pos=no --callgrind-out-file="$out/cg.$n" \
        "$hb" --fit "$fit" --run "$t" >"$out/run.$n.txt"
    python3 bench/heap/cgsplit.py "$out/cg.$n" >>"$out/run.$n.txt"
done

if [ "${HK_BENCH_SKIP_WORST:-0}" != 1 ]; then
    echo "== worst case, every call ($((SECONDS - t0))s so far)"
    pids=""
    for t in $real; do
        n=$(basename "$t" .rep.xz)
        d=$out/dumps.$n
        rm -rf "$d"; mkdir -p "$d"
        nice -n 10 valgrind --tool=callgrind -q --collect-atstart=no --toggle-collect='hb_*' \
            --dump-after=hb_malloc --dump-after=hb_free --dump-after=hb_realloc \
            --dump-after=hb_calloc --callgrind-out-file="$d/cg.out" \
            "$hb" --fit "$fit" ${HK_BENCH_WORST_PREFIX:+--prefix "$HK_BENCH_WORST_PREFIX"} \
            --worst "$d" "$t" >"$out/worst.$n.txt" &
        pids="$pids $!"
        # two at a time on two cores
        if [ "$(echo $pids | wc -w)" -ge 2 ]; then wait $pids; pids=""; fi
    done
    [ -n "$pids" ] && wait $pids
fi

echo "== memory ($((SECONDS - t0))s so far)"
# the real traces at HK_ALIGN 8 alongside (two cores)
for t in $real; do
    n=$(basename "$t" .rep.xz)
    nice -n 10 "$out/heapbench8" --fit "$fit" --mem "$t" >"$out/mem8.$n.txt" || true
done &
a8=$!
for t in $all; do
    n=$(basename "$t"); n=${n%.xz}; n=${n%.rep}
    nice -n 10 "$hb" --fit "$fit" --mem "$t" >"$out/mem.$n.txt" || true
done

wait $a8
echo "== MCU trace: failed allocations in 32 KiB and tighter arenas"
# the goal's five arenas, and a sweep every 256 B from 29 to 33 KiB: which
# arena fails where is chaotic in the last few hundred bytes
for a in $(seq 29696 256 33792); do
    for f in "$fit" first; do
        "$out/heapbench32" --fit "$f" --fails $a bench/heap/mcu-queues.rep >"$out/mcu.$f.$a.txt" || true
    done
done

echo "== report ($((SECONDS - t0))s so far)"
python3 bench/heap/report.py "$out" "$fit" "${HK_BENCH_BEFORE:-}" >bench/heap/RESULTS.md
cat bench/heap/RESULTS.md
echo "== done in $((SECONDS - t0))s"
