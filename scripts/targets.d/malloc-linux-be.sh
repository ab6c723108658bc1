#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/targets.d/malloc-linux-be.sh - heapkit's drop-in malloc on the two
# big-endian Linux targets: its suites (the hk_* API in-process, and the C
# library's malloc replaced in a static binary) built with
# cmake/toolchains/mips-be.cmake and s390x-be.cmake and run under qemu-mips
# and qemu-s390x. MIPS32 is the 32-bit big-endian case (8-byte max_align_t,
# 32-bit atomics only), s390x the 64-bit one. See scripts/targets.sh for the
# interface: describe | packages | missing | run DIR LOG.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
arches="mips-be:mips-linux-gnu:qemu-mips s390x-be:s390x-linux-gnu:qemu-s390x"

case ${1:-} in
describe)
    echo "drop-in malloc suites on MIPS32 and s390x big-endian Linux, qemu-user, static (clang)" ;;
packages)
    echo "clang qemu-user binutils-mips-linux-gnu libc6-dev-mips-cross libgcc-12-dev-mips-cross" \
         "binutils-s390x-linux-gnu libc6-dev-s390x-cross libgcc-12-dev-s390x-cross" ;;
missing)
    command -v clang >/dev/null || { echo "clang not installed"; exit 0; }
    tmp=$(mktemp -d)
    echo 'int main(void){return 0;}' >"$tmp/p.c"
    for a in $arches; do
        IFS=: read -r _ triple qemu <<<"$a"
        command -v "$qemu" >/dev/null || { echo "$qemu not installed"; break; }
        clang --target="$triple" --sysroot="/usr/$triple" -static "$tmp/p.c" -o "$tmp/p" 2>/dev/null ||
            { echo "clang cannot link for $triple"; break; }
    done
    rm -rf "$tmp" ;;
run)
    dir=$2 log=$3
    rc=0 summary=""
    for a in $arches; do
        IFS=: read -r name _ _ <<<"$a"
        b=$dir/$name t0=$SECONDS
        echo "=== $name: configure and build" >>"$log"
        rm -f "$b/CMakeCache.txt"
        if ! cmake -S "$root" -B "$b" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/$name.cmake" \
                 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHK_INTERNAL_ASSERTS=ON >>"$log" 2>&1 ||
           ! cmake --build "$b" -j 1 --target hkm_tests hkm_tests_override >>"$log" 2>&1; then
            summary+="$name: build FAILED; "
            rc=1
            continue
        fi
        t1=$SECONDS
        echo "=== $name: suites" >>"$log"
        if (cd "$b" && ctest -R '^malloc_' -E '^malloc_preload' --timeout 600 --output-on-failure) >>"$log" 2>&1; then
            n=$(cd "$b" && ctest -N -R '^malloc_' -E '^malloc_preload' | sed -n 's/^Total Tests: //p')
            summary+="$name: $n malloc suites ok (build $((t1 - t0))s, run $((SECONDS - t1))s); "
        else
            summary+="$name: suites FAILED; "
            rc=1
        fi
    done
    echo "${summary%; }"
    exit $rc ;;
*)
    echo "usage: $0 describe|packages|missing|run DIR LOG" >&2
    exit 2 ;;
esac
