#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ports/mpu/run.sh - builds and runs heapkit's MPU test image; called by
# scripts/targets.d/mpu-cortex-m3.sh and mpu-cortex-m33.sh:
#   run.sh BOARD DIR LOG      BOARD: m3 (mps2-an385), m33 (mps2-an505), or
#                             m4 (mps2-an386, not a CI target: the same
#                             PMSAv7 MPU as the M3)
# Builds with arm-none-eabi-gcc -Os (one compiler call, no CMake), prints
# the size of the MPU code, runs the image under qemu-system-arm with
# -icount (deterministic; SysTick then counts instructions) and
# semihosting, and exits with the image's status (0: every check passed).
# The last line on stdout is the summary scripts/targets.sh shows.
set -u
board=$1 dir=$2 log=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
case $board in
m3)  cpu=cortex-m3;  machine=mps2-an385; flash=0x00000000; ram=0x20000000; ram_size=4M ;;
m4)  cpu=cortex-m4;  machine=mps2-an386; flash=0x00000000; ram=0x20000000; ram_size=4M ;;
m33) cpu=cortex-m33; machine=mps2-an505; flash=0x10000000; ram=0x38000000; ram_size=2M ;;
*)   echo "run.sh: unknown board $board" >&2; exit 2 ;;
esac
mkdir -p "$dir/gen"
echo 'HK_X(mpu)' >"$dir/gen/hk_suites.inc"
arch=(-mcpu=$cpu -mthumb -mfloat-abi=soft)
warn=(-Wall -Wextra -Wconversion -Wsign-conversion -Wcast-align -Wshadow -Wstrict-prototypes
      -Wmissing-prototypes -Wpointer-arith -Wundef -Werror)
cflags=("${arch[@]}" -std=c11 -Os -g -ffreestanding -ffunction-sections -fdata-sections "${warn[@]}"
        -I"$root/include" -I"$root/src" -I"$root/tests/harness" -I"$root/ports/cortexm" -I"$dir/gen"
        -DHK_TEST_ARENA_SIZE=262144 -DHK_TEST_SCALE_DIV=4 -DHK_PORT_BARE_METAL=1)
ld=(-nostdlib -T "$root/ports/mpu/link.ld" -Wl,--gc-sections
    -Wl,--defsym=__flash_origin=$flash -Wl,--defsym=__flash_size=4M
    -Wl,--defsym=__ram_origin=$ram -Wl,--defsym=__ram_size=$ram_size -Wl,--defsym=__stack_size=16K)
srcs=("$root"/src/common/*.c "$root"/src/heap/*.c "$root"/src/pool/*.c "$root"/src/stack/*.c
      "$root"/src/mpu/*.c "$root/tests/harness/hk_test.c" "$root/tests/test_mpu.c"
      "$root/ports/freestanding/hk_libc.c" "$root/ports/mpu/kernel.c" "$root/ports/mpu/main.c")
elf=$dir/mpu.elf
{
    echo "=== build ($cpu)"
    arm-none-eabi-gcc "${cflags[@]}" -DHK_PORT_SELFTEST -c "$root/ports/cortexm/main.c" \
        -o "$dir/console.o" &&
    arm-none-eabi-gcc "${cflags[@]}" "${srcs[@]}" "$dir/console.o" "${ld[@]}" -lgcc -o "$elf" &&
    arm-none-eabi-gcc "${cflags[@]}" -c "$root/src/mpu/mpu.c" -o "$dir/mpu.o" &&
    arm-none-eabi-gcc "${cflags[@]}" -c "$root/src/mpu/mpu_cortexm.c" -o "$dir/mpu_cortexm.o"
} >>"$log" 2>&1 || { echo "build failed (see $log)"; exit 1; }

# The MPU code's cost: the objects at -Os, and what --gc-sections kept of
# them in the image (hk_mpu_* and their static helpers).
objsize=$(arm-none-eabi-size -t "$dir/mpu.o" "$dir/mpu_cortexm.o" | awk 'END { printf "text %d data %d bss %d", $1, $2, $3 }')
rom=0 ram=0
while read -r _ size type name; do
    case $name in
    hk_mpu_*|enabled|loaded|encode|v7_region|v7_ap|v8_ap|attr_problem|domain_conflict|part_*|ranges_meet|\
    range_inside|log2_exact|pow2_at_least|guard_attr|barrier)
        case $type in [bBdD]) ram=$((ram + 16#$size)) ;; *) rom=$((rom + 16#$size)) ;; esac ;;
    esac
done < <(arm-none-eabi-nm -S --size-sort "$elf")
linked="$rom B flash, $ram B RAM"
echo "=== mpu code: objects (-Os) $objsize; linked into the image (--gc-sections): $linked" >>"$log"

echo "=== run (qemu-system-arm -M $machine -icount shift=0)" >>"$log"
timeout "${HK_TARGET_TIMEOUT:-60}" qemu-system-arm -M "$machine" -icount shift=0 -display none \
    -monitor none -serial none -semihosting-config enable=on,target=native -kernel "$elf" \
    </dev/null >>"$log" 2>&1
rc=$?
summary=$(grep -Eo '^[0-9]+ passed, [0-9]+ failed' "$log" | awk '{ p += $1; f += $3 } END { printf "%d checks passed, %d failed", p, f }')
switch=$(grep -Eo '[0-9]+\.[0-9] instructions per hk_mpu_switch' "$log" | head -1 | cut -d' ' -f1-2)
echo "$machine: $summary; domain switch ${switch:-?}; mpu code $linked (status $rc)"
exit $rc
