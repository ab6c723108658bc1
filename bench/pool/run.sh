#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/pool/run.sh - instructions per call on the pool, tiered and ring fast
# paths (and the TLSF heap for comparison), counted by callgrind: inclusive
# Ir of each public function / number of calls. Deterministic: the same
# binary gives the same figures on every run.
#   bench/pool/run.sh [build-dir]   (default build/bench-pool, -O2 release)
set -eu
cd "$(dirname "$0")/../.."
dir=${1:-build/bench-pool}
command -v valgrind >/dev/null || { echo "valgrind not installed (apt-get install valgrind)"; exit 77; }
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DHK_BUILD_TESTS=OFF >/dev/null
cmake --build "$dir" --target heapkit -j2 >/dev/null
cc -std=c11 -O2 -Iinclude bench/pool/fastpath.c "$dir/libheapkit.a" -o "$dir/hk-fastpath"
out=$dir/callgrind.out
calls=$(valgrind --tool=callgrind --callgrind-out-file="$out" "$dir/hk-fastpath" 2>/dev/null)
callgrind_annotate --inclusive=yes "$out" 2>/dev/null >"$dir/callgrind.txt"
echo "$calls" | awk -v ann="$dir/callgrind.txt" '
    { for (i = 2; i < NF; i += 2) n[$i] = $(i + 1) }
    END {
        while ((getline line < ann) > 0) {
            split(line, f, " ")
            ir = f[1]; gsub(",", "", ir)
            for (fn in n) if (index(line, ":" fn " ") || line ~ (":" fn "$")) cost[fn] = ir
        }
        printf "%-18s %10s %12s %10s\n", "function", "calls", "Ir (incl.)", "Ir/call"
        split("hk_pool_alloc hk_pool_free hk_tiered_alloc hk_tiered_free hk_ring_alloc hk_ring_free hk_heap_alloc hk_heap_free", order, " ")
        for (k = 1; k <= 8; k++) { fn = order[k]
            printf "%-18s %10d %12d %10.1f\n", fn, n[fn], cost[fn], n[fn] ? cost[fn] / n[fn] : 0 }
    }'
