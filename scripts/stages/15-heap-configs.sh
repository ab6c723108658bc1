#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/stages/15-heap-configs.sh - the portable test suites against two
# heap configurations the host builds of scripts/test.sh do not cover:
#   lean  the code size options (include/heapkit/config.h): HK_HEAP_MINIMAL=1,
#         i.e. one region, no growth hook, short error reasons, damage refused
#         instead of repaired, realloc in place only in the simple cases, no
#         front, no event hook. The list policies stay compiled in so that the
#         damage, realloc and model tests still cover all three policies.
#         Left out: the suites of what this build compiles out (several
#         regions, the front) and the VM kernel heap (it grows through the
#         hook).
#   a8    HK_ALIGN 8 on the 64-bit host: an 8-byte granule equal to the header
#         word (x86-64's default is max_align_t's 16; the m32 build covers 8
#         with 32-bit pointers). bench/heap takes its equal-alignment memory
#         figures, the ones compared with TLSF's, from this configuration.
# Each is built with AddressSanitizer + UBSan and the internal assertions: a
# path that followed a damaged pointer would trip them.
# Exit 0 when all pass, 1 otherwise (about a minute each on 2 cores).
set -u
cd "$(dirname "$0")/../.."
root=$PWD
jobs=${HK_JOBS:-2}
fail=0

suites() {  # name extra-defs exclude-regex suite-that-must-run
    local name=$1 defs=$2 exclude=$3 must=$4 dir=$root/build/heap-$1 t0=$SECONDS
    echo "--- $name: $defs"
    if ! cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHK_BUILD_TESTS=ON \
            -DHK_INTERNAL_ASSERTS=ON -DHK_SANITIZE=ON -DCMAKE_C_FLAGS="-O1" \
            -DHK_HOSTED_EXTRAS=OFF -DHK_BUILD_EXAMPLES=OFF \
            "-DHK_EXTRA_DEFS=$defs" "-DHK_TEST_EXCLUDE=$exclude" >"$dir.log" 2>&1 ||
       ! cmake --build "$dir" -j "$jobs" --target hk_tests >>"$dir.log" 2>&1; then
        tail -30 "$dir.log"; echo "15-heap-configs: $name: build FAILED"; fail=1; return
    fi
    if ! (cd "$dir" && timeout 600 ./hk_tests >"$dir.test.log" 2>&1); then
        grep -E "FAIL|ERROR|runtime error" "$dir.test.log" | head -20
        tail -5 "$dir.test.log"; echo "15-heap-configs: $name: tests FAILED"; fail=1; return
    fi
    if ! grep -q "^suite $must: ok" "$dir.test.log"; then
        echo "15-heap-configs: $name: suite $must did not run"; fail=1; return
    fi
    echo "    $name: $(tail -1 "$dir.test.log") ($((SECONDS - t0))s)"
}

suites lean "HK_HEAP_MINIMAL=1;HK_ENABLE_FIRST_FIT=1;HK_ENABLE_BEST_FIT=1" \
    "test_heap_(regions|front)\\.c|test_vm\\.c" heap_lean
suites a8 "HK_ALIGN=8" "" heap_front
exit $fail
