#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/bench.sh - behind `make bench`: every trace in ../shared/traces on
# every allocator, one report in bench/results/<date>-<machine>.md with its
# plots in bench/results/<date>-<machine>/.
#
# What runs (all through tools/replay/hk-replay, see docs/tools.md):
#   memory   heapkit policies, bisection for the smallest arena (8 bytes)
#   system   glibc, jemalloc, mimalloc, tcmalloc and heapkit's drop-in malloc
#            (src/malloc, LD_PRELOAD like the others): peak RSS and cycles
#   instr    callgrind instructions per call, every allocator (the O(n)
#            first/best policies on the first HK_BENCH_PREFIX_ON ops of the
#            large traces, to keep the run short)
#   worst    exact worst-case instructions per call for HK_FIT_TLSF, one
#            callgrind dump per call: the CMU traces whole and the first
#            HK_BENCH_WORST_PREFIX ops of each real-program trace
#   sizes    fixed costs on 64-bit and (with gcc -m32) 32-bit builds
# Build: -O2 -DNDEBUG, internal assertions off, no lock (as the reference
# figures in ../shared/traces/README.md). Takes about 15-30 minutes on 2 cores.
# HK_BENCH_QUICK=1 runs a small subset (for trying the script).
set -eu
cd "$(dirname "$0")/.."
root=$PWD
traces=${HK_TRACES:-$root/../shared/traces}
[ -d "$traces" ] || { echo "bench: no traces at $traces"; exit 1; }
for tool in cmake valgrind xz python3; do
    command -v $tool >/dev/null || { echo "bench: needs $tool (see scripts/packages/tools.txt)"; exit 1; }
done
date=$(date -u +%Y-%m-%d)
machine=$(hostname -s 2>/dev/null || echo host)
name=$date-$machine
work=$root/build/bench/work
res=$root/bench/results
pics=$res/$name
prefix_on=${HK_BENCH_PREFIX_ON:-60000}
worst_prefix=${HK_BENCH_WORST_PREFIX:-50000}

echo "== build (build/bench, -O2 -DNDEBUG)"
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DHK_BUILD_TESTS=OFF >/dev/null
cmake --build build/bench -j2 --target hk-replay hk-sizes >/dev/null
# heapkit's drop-in malloc (src/malloc), compared like the system allocators
cmake --build build/bench -j2 --target heapkit_malloc >/dev/null 2>&1 ||
    echo "   (heapkit_malloc does not build: left out)"
replay=$root/build/bench/tools/hk-replay
have32=0
if echo 'int main(void){return 0;}' | gcc -m32 -x c -o /dev/null - 2>/dev/null; then
    cmake -S . -B build/bench32 -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="-m32" \
        -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DHK_BUILD_TESTS=OFF >/dev/null
    cmake --build build/bench32 -j2 --target hk-sizes >/dev/null && have32=1
    # the same with 8-byte alignment, as on a Cortex-M (HK_ALIGN 8)
    cmake -S . -B build/bench32a8 -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="-m32" \
        -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DHK_EXTRA_DEFS="HK_ALIGN=8" \
        -DHK_BUILD_TESTS=OFF >/dev/null
    cmake --build build/bench32a8 -j2 --target hk-sizes >/dev/null || true
fi

rm -rf "$work" "$pics"; mkdir -p "$work" "$pics"
all=$(ls "$traces"/*.rep "$traces"/*.rep.xz | sort)
small=$(ls "$traces"/*.rep | sort)
real=$(ls "$traces"/*.rep.xz | sort)
if [ "${HK_BENCH_QUICK:-0}" = 1 ]; then
    all="$traces/short1-bal.rep $traces/binary-bal.rep $traces/real-sqlite3.rep.xz"
    small="$traces/short1-bal.rep $traces/binary-bal.rep"
    real="$traces/real-sqlite3.rep.xz"
fi

t0=$SECONDS
step() { echo "== $1 ($((SECONDS-t0))s so far)"; }

step "sizes"
"$root/build/bench/bench/hk-sizes" >"$work/sizes64.txt"
if [ $have32 = 1 ]; then
    "$root/build/bench32/bench/hk-sizes" >"$work/sizes32.txt"
    [ -x "$root/build/bench32a8/bench/hk-sizes" ] &&
        "$root/build/bench32a8/bench/hk-sizes" >"$work/sizes32a8.txt"
fi

step "memory: heapkit policies, smallest arena by bisection; fragmentation and maps"
"$replay" --alloc heapkit --mem --json --quiet --frag "$work/frag.csv" --maps "$work/maps" \
    $all >"$work/mem.json" || echo "   (some runs failed: see the report)"

step "system allocators: peak RSS and cycles"
"$replay" --alloc system,hkmalloc --json --quiet $all >"$work/sys.json" || true

step "instructions per call (callgrind): tlsf and the system allocators, whole traces"
"$replay" --alloc tlsf,system,hkmalloc --instr --no-cycles --json --quiet $all \
    >"$work/instr.json" || true
step "instructions per call: first and best fit (O(n)), large traces cut to $prefix_on ops"
"$replay" --alloc first,best --instr --no-cycles --json --quiet $small >"$work/instr_fb.json" || true
"$replay" --alloc first,best --instr --no-cycles --json --quiet --prefix "$prefix_on" $real \
    >"$work/instr_fb_prefix.json" || true

step "worst case per call (callgrind, one dump per call): tlsf"
"$replay" --alloc tlsf --worst --no-cycles --json --quiet $small >"$work/worst.json" || true
"$replay" --alloc tlsf --worst --no-cycles --json --quiet --prefix "$worst_prefix" $real \
    >"$work/worst_prefix.json" || true

step "report"
python3 tools/bench/report.py --work "$work" --out "$res/$name.md" --pics "$pics" \
    --name "$name" --worst-prefix "$worst_prefix" --prefix-on "$prefix_on"
cp "$work"/maps/heapmap-real-*-tlsf.svg "$pics"/ 2>/dev/null || true
if command -v gnuplot >/dev/null; then
    for tr in $(cut -d, -f1 "$work/frag.csv" | grep '^real-' | sort -u); do
        gnuplot -e "csv='$work/frag.csv'; out='$pics/frag-$tr.svg'; trace='$tr'" tools/plot/frag.gp
    done
fi
echo "== done in $((SECONDS-t0))s: $res/$name.md"
