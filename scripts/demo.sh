#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/demo.sh - behind `make demo`, the first command a newcomer runs.
#
# Replays the allocations of a real program (the sqlite3 shell: 4,000 inserts,
# an index, GROUP BY queries, an update and a delete; 270k calls) through each
# heapkit policy and the system malloc, prints the comparison, and draws heap
# maps and the fragmentation plot. Takes about 10-20 seconds.
set -eu
cd "$(dirname "$0")/.."
root=$PWD
out=$root/build/demo
trace=$root/../shared/traces/real-sqlite3.rep.xz
[ -e "$trace" ] || trace=$root/tools/data/real-sqlite3.rep.xz

for tool in cmake xz; do
    command -v $tool >/dev/null || { echo "demo: needs $tool (apt-get install $tool)"; exit 1; }
done

# its own build directory: the test builds (build/release ...) keep their tests
echo "== building hk-replay (build/demo-tools)"
cmake -S . -B build/demo-tools -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHK_BUILD_TESTS=OFF >/dev/null
cmake --build build/demo-tools -j2 --target hk-replay >/dev/null
replay=$root/build/demo-tools/tools/hk-replay
# heapkit's drop-in malloc (src/malloc), preloaded like the system allocators
hkmalloc=""
if cmake --build build/demo-tools -j2 --target heapkit_malloc >/dev/null 2>&1; then
    hkmalloc=,hkmalloc
fi

# The system allocators that are installed (glibc always is).
allocs=tlsf,first,best,glibc
for a in jemalloc:libjemalloc.so.2 mimalloc:libmimalloc.so.2 tcmalloc:libtcmalloc_minimal.so.4; do
    for d in /usr/lib/x86_64-linux-gnu /usr/lib/i386-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
        if [ -e "$d/${a#*:}" ]; then allocs=$allocs,${a%%:*}; break; fi
    done
done
allocs=$allocs$hkmalloc

rm -rf "$out"; mkdir -p "$out"
cat <<EOF

== replaying $(basename "$trace")
   a recording of every malloc, free and realloc the sqlite3 shell made: $(xz -dc "$trace" | sed -n 3p) calls,
   at most $(xz -dc "$trace" | sed -n 1p) bytes live at once. Allocators: ${allocs//,/, }.
   heapkit runs each trial in an arena it shrinks until the trace no longer fits (memory column).

EOF
status=0
"$replay" --alloc "$allocs" --brief --mem --mem-res 64 --maps "$out" --frag "$out/fragmentation.csv" \
    "$trace" || status=$?

plot=""
if command -v gnuplot >/dev/null; then
    if gnuplot -e "csv='$out/fragmentation.csv'; out='$out/fragmentation.svg'; trace='real-sqlite3'" \
        tools/plot/frag.gp 2>"$out/gnuplot.log"; then
        plot=$out/fragmentation.svg
    fi
fi

cat <<EOF

How to read this:
  memory   heapkit: the smallest arena (to 64 bytes) in which the whole program's allocations
           fit, divided by the most bytes the program ever had live. 1.000 would be perfect;
           the rest is block headers, rounding and fragmentation, all included.
           System allocators ("rss"): peak resident memory growth / the same peak, page granular.
           hkmalloc is heapkit's drop-in malloc (src/malloc), preloaded like the system ones.
  cycles   rdtsc per call, median and p99. On a shared or virtual machine these are noisy;
           'make bench' measures exact instruction counts with callgrind instead.
  checks   after the replay hk_heap_validate passed and freeing everything left one free block.

Pictures:
  heap maps (used / free / overhead at peak, at the most fragmented op and at the end, with
  a byte scale), one per policy:
$(ls "$out"/heapmap-*.svg | sed 's/^/    /')
EOF
if [ -n "$plot" ]; then
    echo "  fragmentation over time:"
    echo "    $plot"
else
    echo "  fragmentation over time: $out/fragmentation.csv (install gnuplot-nox for the plot)"
fi
echo "Open the .svg files in a web browser. The full benchmark: make bench."
exit $status
