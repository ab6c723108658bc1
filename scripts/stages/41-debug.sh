#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/stages/41-debug.sh - the portable test suites (hk_tests: the
# heap's own tests, the misuse tests, the corruption campaign, everything
# else portable) at debug levels 1, 2 and 3 (heapkit/debug.h):
#   debug1      HK_DEBUG=1 with AddressSanitizer + UBSan (the campaign and
#               the misuse tests must not trip them)
#   debug1-m32  HK_DEBUG=1, 32-bit (another trailer layout), when gcc -m32 links
#   debug2      HK_DEBUG=2 (internal assertions)
#   debug3      HK_DEBUG=3 (validate after every operation)
#   cortex-m0 and s390x-be at HK_DEBUG=1, under QEMU (no unaligned access;
#   big-endian), when their toolchains and emulators are installed
#   (scripts/packages/targets.txt); otherwise skipped with the reason.
# Level 0 is covered by the host builds of scripts/test.sh and by
# scripts/targets.sh. Exit 0 when all pass, 1 otherwise.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
jobs=${HK_JOBS:-2}
fail=0

run() { # name cmake-args...
    local name=$1; shift
    local dir=$root/build/$name t0=$SECONDS
    echo "--- $name"
    if ! cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.log" 2>&1 ||
       ! cmake --build "$dir" -j "$jobs" --target hk_tests >>"$dir.log" 2>&1; then
        tail -30 "$dir.log"; echo "41-debug: build $name FAILED"; fail=1; return
    fi
    if ! (cd "$dir" && timeout 900 ./hk_tests >"$dir.test.log" 2>&1); then
        grep -E "FAIL|ERROR|runtime error" "$dir.test.log" | head -20
        tail -5 "$dir.test.log"; echo "41-debug: tests $name FAILED"; fail=1; return
    fi
    grep -A6 "corruption campaign" "$dir.test.log" | grep -v "^suite"
    echo "    $(tail -1 "$dir.test.log") ($((SECONDS - t0))s)"
}

run debug1 -DHK_EXTRA_DEFS=HK_DEBUG=1 -DHK_SANITIZE=ON -DCMAKE_C_FLAGS="-O1"
if echo 'int main(void){return 0;}' | gcc -m32 -x c -o /dev/null - 2>/dev/null; then
    run debug1-m32 -DHK_EXTRA_DEFS=HK_DEBUG=1 -DCMAKE_C_FLAGS="-m32 -O2"
else
    echo "--- debug1-m32 skipped: gcc -m32 cannot link"
fi
run debug2 -DHK_EXTRA_DEFS=HK_DEBUG=2 -DCMAKE_C_FLAGS="-O2"
run debug3 -DHK_EXTRA_DEFS=HK_DEBUG=3 -DCMAKE_C_FLAGS="-O2"

target() { # name needed-commands...
    local t=$1; shift
    for c in "$@"; do
        if ! command -v "$c" >/dev/null 2>&1; then
            echo "--- $t at HK_DEBUG=1 skipped: $c not installed (scripts/packages/targets.txt)"
            [ "${CI:-}" = true ] && fail=1
            return
        fi
    done
    local dir=$root/build/debug1-$t t0=$SECONDS extra=()
    [ "$t" = s390x-be ] && extra=(-DHK_HOSTED=OFF -DHK_TARGET_MAIN="$root/tests/harness/host_main.c")
    echo "--- $t at HK_DEBUG=1"
    rm -f "$dir/CMakeCache.txt"
    if ! cmake -S "$root" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/$t.cmake" \
           -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHK_EXTRA_DEFS=HK_DEBUG=1 "${extra[@]}" \
           >"$dir.log" 2>&1 || ! cmake --build "$dir" -j "$jobs" >>"$dir.log" 2>&1; then
        tail -30 "$dir.log"; echo "41-debug: build $t FAILED"; fail=1; return
    fi
    if ! (cd "$dir" && HK_QEMU_TIMEOUT=400 ctest -V --timeout 400 >"$dir.test.log" 2>&1); then
        grep -E "FAIL|Error|fault" "$dir.test.log" | head -20; echo "41-debug: $t FAILED"
        fail=1; return
    fi
    echo "    $(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$dir.test.log" | tail -1) ($((SECONDS - t0))s)"
}
target cortex-m0 arm-none-eabi-gcc qemu-system-arm
target s390x-be clang qemu-s390x
exit $fail
