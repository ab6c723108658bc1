#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/stages/16-heap-a8.sh - the portable test suites on the 64-bit host
# with HK_ALIGN 8: an 8-byte granule equal to the header word (on x86-64 the
# default is max_align_t's 16 bytes; the m32 build covers 8 on 32-bit
# pointers). bench/heap reports its equal-alignment memory figures, the ones
# compared with TLSF's, from this configuration. Built with AddressSanitizer
# + UBSan and the internal assertions. Exit 0 when all pass, 1 otherwise
# (about a minute on 2 cores).
set -u
cd "$(dirname "$0")/../.."
root=$PWD
dir=$root/build/heap-a8
jobs=${HK_JOBS:-2}
t0=$SECONDS
if ! cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHK_BUILD_TESTS=ON \
        -DHK_INTERNAL_ASSERTS=ON -DHK_SANITIZE=ON -DCMAKE_C_FLAGS="-O1" \
        -DHK_HOSTED_EXTRAS=OFF -DHK_BUILD_EXAMPLES=OFF \
        "-DHK_EXTRA_DEFS=HK_ALIGN=8" >"$dir.log" 2>&1 ||
   ! cmake --build "$dir" -j "$jobs" --target hk_tests >>"$dir.log" 2>&1; then
    tail -30 "$dir.log"; echo "16-heap-a8: build FAILED"; exit 1
fi
if ! (cd "$dir" && timeout 600 ./hk_tests >"$dir.test.log" 2>&1); then
    grep -E "FAIL|ERROR|runtime error" "$dir.test.log" | head -20
    tail -5 "$dir.test.log"; echo "16-heap-a8: tests FAILED"; exit 1
fi
grep -q "^suite heap_basic: ok" "$dir.test.log" || { echo "16-heap-a8: suite heap_basic did not run"; exit 1; }
grep -q " 0 failed$" "$dir.test.log" || { echo "16-heap-a8: no summary line"; exit 1; }
echo "    $(tail -1 "$dir.test.log") ($((SECONDS - t0))s)"
