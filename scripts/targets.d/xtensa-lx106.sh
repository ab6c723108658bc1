#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/targets.d/xtensa-lx106.sh - the Xtensa LX106 target (the ESP8266's
# core) for scripts/targets.sh: bare metal, no C library, on QEMU's `sim`
# board with the simulator calls for console and exit. Built with
# cmake/toolchains/xtensa-lx106.cmake like the other bare-metal targets:
# first the port self-test (ports/selftest: a pass, a failed check, a trap,
# an unaligned word load and a stack overflow must reach the exit status as
# 0, 1, 99, 99 and 98), then the library and every portable suite, run
# under ctest. Called as
#   xtensa-lx106.sh describe | packages | missing | run DIR LOG
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
tc=$root/cmake/toolchains/xtensa-lx106.cmake

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

case ${1:-} in
describe)
    echo "Xtensa LX106 (ESP8266 core), qemu-system-xtensa -M sim -cpu lx106, no libc, unaligned access faults" ;;
packages)
    echo "gcc-xtensa-lx106 binutils-xtensa-lx106 qemu-system-misc" ;;
missing)
    for cmd in xtensa-lx106-elf-gcc xtensa-lx106-elf-addr2line qemu-system-xtensa cmake; do
        command -v "$cmd" >/dev/null 2>&1 || { echo "$cmd not found"; exit 0; }
    done
    qemu-system-xtensa -cpu help 2>/dev/null | grep -qw lx106 ||
        echo "qemu-system-xtensa has no lx106 core (QEMU 7.2 or later has it)" ;;
run)
    dir=$2 log=$3
    mkdir -p "$dir"
    t0=$(now)
    # fresh configuration (the toolchain file may have changed) and a fresh
    # link (CMake does not know the images depend on the linker script)
    rm -f "$dir/CMakeCache.txt" "$dir/selftest/CMakeCache.txt" "$dir/hk_tests" "$dir"/selftest/selftest_*
    if ! cmake -S "$root/ports/selftest" -B "$dir/selftest" -DCMAKE_TOOLCHAIN_FILE="$tc" >>"$log" 2>&1 ||
       ! cmake --build "$dir/selftest" -j 1 >>"$log" 2>&1 ||
       ! cmake -S "$root" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$tc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
           -DHK_INTERNAL_ASSERTS=ON >>"$log" 2>&1 ||
       ! cmake --build "$dir" -j 1 >>"$log" 2>&1; then
        echo "build $(secs "$t0" "$(now)")s, build failed"
        exit 1
    fi
    t1=$(now)
    export HK_QEMU_TIMEOUT=${HK_TARGET_TIMEOUT:-300}
    st_ok=1 rc=0
    echo "=== selftest" >>"$log"
    (cd "$dir/selftest" && ctest --output-on-failure) >>"$log" 2>&1 || st_ok=0
    st_n=$(grep -c 'Test *#' "$log")
    echo "=== suites" >>"$log"
    (cd "$dir" && ctest --output-on-failure -V --timeout 400) >>"$log" 2>&1 || rc=1
    t2=$(now)
    counts=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$log" |
             awk '{ p += $1; f += $3 } END { printf "%d checks passed, %d failed", p, f }')
    # an exception: the source line of the faulting pc (addr2line on the image)
    where=
    pc=$(sed -n 's/^[0-9]*: FAULT: .* pc=\([0-9a-f]*\).*/\1/p' "$log" | head -1)
    [ -n "$pc" ] && where=", fault at $(xtensa-lx106-elf-addr2line -f -p -e "$dir/hk_tests" "0x$pc")"
    echo "build $(secs "$t0" "$t1")s  run $(secs "$t1" "$t2")s  self-test" \
         "$([ $st_ok -eq 1 ] && echo "ok ($st_n)" || echo FAILED), $counts$where"
    [ $st_ok -eq 1 ] && [ $rc -eq 0 ] ;;
*)
    echo "usage: $0 describe | packages | missing | run DIR LOG" >&2
    exit 2 ;;
esac
