#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/stages/15-heap-lean.sh - the portable test suites against the lean
# heap (include/heapkit/config.h, "code size options"): HK_HEAP_MINIMAL=1,
# i.e. one region, no growth hook, short error reasons, damage refused
# instead of repaired, realloc in place only in the simple cases, no front,
# no event hook. The list policies stay compiled in so that the damage,
# realloc and model tests still cover all three policies. Built with
# AddressSanitizer + UBSan: a lean path that followed a damaged pointer would
# trip them. Left out: the suites of what this build compiles out (several
# regions, the front) and the VM kernel heap (it grows through the hook).
# Exit 0 when all pass, 1 otherwise (about 45 s on 2 cores).
set -u
cd "$(dirname "$0")/../.."
root=$PWD
dir=$root/build/heap-lean
jobs=${HK_JOBS:-2}
t0=$SECONDS
if ! cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHK_BUILD_TESTS=ON \
        -DHK_INTERNAL_ASSERTS=ON -DHK_SANITIZE=ON -DCMAKE_C_FLAGS="-O1" \
        -DHK_HOSTED_EXTRAS=OFF -DHK_BUILD_EXAMPLES=OFF \
        "-DHK_EXTRA_DEFS=HK_HEAP_MINIMAL=1;HK_ENABLE_FIRST_FIT=1;HK_ENABLE_BEST_FIT=1" \
        "-DHK_TEST_EXCLUDE=test_heap_(regions|front)\\.c|test_vm\\.c" >"$dir.log" 2>&1 ||
   ! cmake --build "$dir" -j "$jobs" --target hk_tests >>"$dir.log" 2>&1; then
    tail -30 "$dir.log"; echo "15-heap-lean: build FAILED"; exit 1
fi
if ! (cd "$dir" && timeout 600 ./hk_tests >"$dir.test.log" 2>&1); then
    grep -E "FAIL|ERROR|runtime error" "$dir.test.log" | head -20
    tail -5 "$dir.test.log"; echo "15-heap-lean: tests FAILED"; exit 1
fi
grep -q "^suite heap_lean: ok" "$dir.test.log" || { echo "15-heap-lean: suite heap_lean did not run"; exit 1; }
echo "    $(tail -1 "$dir.test.log") ($((SECONDS - t0))s)"
