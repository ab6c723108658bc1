#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/malloc/run.sh - heapkit's malloc against glibc, jemalloc, mimalloc and
# tcmalloc (Debian's packages), each chosen with LD_PRELOAD, on the workloads
# of hkb_bench.c plus the sqlite3 shell running 50,000 inserts.
#
# For every workload, at 1 and 2 threads, and every allocator it measures
#   Ir     user-space instructions of the whole process (valgrind callgrind),
#          reported as a ratio to glibc's on the same run
#   wall   the median of 3 runs (10x longer than the callgrind run), as a
#          ratio to glibc's median
#   rss    peak resident set (getrusage / GNU time), MB and ratio to glibc
# and writes a Markdown table to build/bench-malloc/results.md.
#
# usage: bench/malloc/run.sh [--quick]   (--quick: no callgrind, 1 run each)
#        bench/malloc/run.sh --mbench SUBSET.tar.xz [ir] [rss] [wall]
# Needs: valgrind, time, libjemalloc2, libmimalloc2.0, libtcmalloc-minimal4
# (a missing allocator is left out of the table). Keep to -j2 machines: the
# runs are sequential.
set -eu
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/build/bench-malloc
mkdir -p "$out"
quick=0
[ "${1:-}" = --quick ] && quick=1
# bench/malloc/run.sh --mbench SUBSET.tar.xz [ir] [rss] [wall]: mimalloc-bench's
# programs instead (bench/malloc/mbench.sh).
if [ "${1:-}" = --mbench ]; then
    shift
    exec bash "$root/bench/malloc/mbench.sh" "$@"
fi

# heapkit's library, release build of its own.
cmake -S "$root" -B "$out/lib" -DCMAKE_BUILD_TYPE=Release -DHK_BUILD_TESTS=OFF >/dev/null
cmake --build "$out/lib" -j2 --target heapkit_malloc >/dev/null
hk=$out/lib/src/malloc/libheapkit_malloc.so
cc -O2 -g -pthread "$root/bench/malloc/hkb_bench.c" -o "$out/hkb_bench"

libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
names=(glibc heapkit)
libs=("" "$hk")
for pair in jemalloc:libjemalloc.so.2 mimalloc:libmimalloc.so.2 tcmalloc:libtcmalloc_minimal.so.4; do
    if [ -f "$libdir/${pair#*:}" ]; then
        names+=("${pair%%:*}")
        libs+=("$libdir/${pair#*:}")
    else
        echo "note: ${pair%%:*} not installed ($libdir/${pair#*:}); left out"
    fi
done

# The sqlite3 workload: 50,000 inserts, an index, queries.
awk 'BEGIN { print "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT);"; print "BEGIN;"
    for (i = 1; i <= 50000; i++) printf "INSERT INTO t(k, name) VALUES(%d, %cn-%d%c);\n", (i * 7919) % 1000, 39, i % 3000, 39
    print "COMMIT;"; print "CREATE INDEX t_k ON t(k);"
    print "SELECT k, count(*) FROM t GROUP BY k ORDER BY 2 DESC LIMIT 3;"
    print "SELECT count(DISTINCT name) FROM t;" }' >"$out/bench.sql"

run_cmd() { # workload threads scale -> command line
    if [ "$1" = sqlite3 ]; then echo "sqlite3 :memory: -init $out/bench.sql .quit"
    else echo "$out/hkb_bench $1 $2 $3"; fi
}

median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }

res=$out/results.md
{
    echo "| workload | threads | allocator | Ir (M) | Ir / glibc | wall / glibc | peak RSS MB | RSS / glibc |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$res"

for w in loop server prodcons bignum large sqlite3; do
    for t in 1 2; do
        [ "$w" = sqlite3 ] && [ "$t" = 2 ] && continue
        # Wall time and RSS on a 10x (large: 2x) run, instructions on 1x.
        cmd=$(run_cmd "$w" "$t" "$([ "$w" = large ] && echo 2 || echo 10)")
        cmd_ir=$(run_cmd "$w" "$t" 1)
        declare -A ir wall rss
        for i in "${!names[@]}"; do
            n=${names[$i]} lib=${libs[$i]}
            ws=()
            r=0
            for k in 1 2 3; do
                [ $quick = 1 ] && [ $k -gt 1 ] && break
                line=$(env LD_PRELOAD="$lib" /usr/bin/time -f 'TIME %e %M' $cmd 2>&1 >/dev/null | grep '^TIME' || true)
                ws+=("$(echo "$line" | awk '{print $2}')")
                m=$(echo "$line" | awk '{print $3}')
                [ "${m:-0}" -gt "$r" ] && r=$m
            done
            if [ $quick = 1 ]; then wall[$n]=${ws[0]}; else wall[$n]=$(median3 "${ws[@]}"); fi
            rss[$n]=$r
            if [ $quick = 1 ]; then ir[$n]=0; else
                ir[$n]=$(env LD_PRELOAD="$lib" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
                         $cmd_ir 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -1)
            fi
        done
        for n in "${names[@]}"; do
            awk -v w="$w" -v t="$t" -v n="$n" -v ir="${ir[$n]:-0}" -v ir0="${ir[glibc]:-0}" \
                -v wl="${wall[$n]}" -v wl0="${wall[glibc]}" -v r="${rss[$n]}" -v r0="${rss[glibc]}" 'BEGIN {
                a = (ir0 > 0) ? sprintf("%.2f", ir / ir0) : "-"
                b = (wl0 > 0) ? sprintf("%.2f", wl / wl0) : "-"
                c = (r0 > 0) ? sprintf("%.2f", r / r0) : "-"
                printf "| %s | %s | %s | %.1f | %s | %s | %.1f | %s |\n", w, t, n, ir / 1e6, a, b, r / 1024, c
            }' >>"$res"
        done
        unset ir wall rss
        echo "done: $w threads=$t"
    done
done
cat "$res"
