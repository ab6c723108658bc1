#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kernel-riscv64: heapkit as the memory manager of a small RISC-V Sv39
# kernel (ports/kernel-riscv64 + ports/kernel-common) in S-mode under
# Debian's OpenSBI (fw_dynamic) on qemu-system-riscv64 -M virt (a flat
# binary, loaded at 0x80200000, linked higher half), -icount for
# stable fault costs. See scripts/targets.sh for the interface.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
fw=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
case ${1:-} in
describe) echo "RISC-V Sv39 kernel in S-mode under OpenSBI, qemu-system-riscv64 -M virt: hk_pages from the FDT, hk_vm on HK_PT_SV39, U-mode" ;;
packages) echo "gcc-riscv64-unknown-elf qemu-system-misc opensbi" ;;
missing)
    for c in riscv64-unknown-elf-gcc qemu-system-riscv64; do
        command -v $c >/dev/null 2>&1 || { echo "$c not found"; exit 0; }
    done
    [ -f $fw ] || echo "$fw not found" ;;
run)
    dir=$2 log=$3
    mkdir -p "$dir"
    src=(ports/kernel-riscv64/start.S ports/kernel-riscv64/kernel.c
         ports/kernel-common/ktest.c ports/liballoc/liballoc.c ports/freestanding/hk_libc.c
         src/common/error.c src/heap/*.c src/pages/pages.c src/vm/vm.c src/vm/pt.c src/vm/kheap.c)
    cd "$root"
    # libgcc of the plain rv64imac multilib (the _zicsr_zifencei spelling
    # would select the default multilib, built for another ABI)
    libgcc=$(riscv64-unknown-elf-gcc -march=rv64imac -mabi=lp64 -print-libgcc-file-name)
    echo "=== build" >>"$log"
    if ! riscv64-unknown-elf-gcc -std=gnu11 -O2 -g -march=rv64imac_zicsr_zifencei -mabi=lp64 \
            -mcmodel=medany -ffreestanding -fno-pie -fno-stack-protector -fno-omit-frame-pointer \
            -fno-asynchronous-unwind-tables -Wall -Wextra -Wconversion -Wsign-conversion -Wshadow \
            -Wstrict-prototypes -Wmissing-prototypes -Wundef -Wcast-align -Werror \
            ${KTEST_CFLAGS:-} -Iinclude -Isrc -Iports/kernel-common -Iports/liballoc -Iports/freestanding \
            -nostdlib -static -T ports/kernel-riscv64/link.ld -Wl,--build-id=none \
            "${src[@]}" "$libgcc" -o "$dir/kernel.elf" >>"$log" 2>&1 ||
       ! riscv64-unknown-elf-objcopy -O binary "$dir/kernel.elf" "$dir/kernel.bin" >>"$log" 2>&1; then
        echo "build failed"; exit 1
    fi
    echo "=== qemu -M virt -m 128M -icount shift=0" >>"$log"
    timeout 60 qemu-system-riscv64 -M virt -m 128M -icount shift=0 -display none -serial stdio \
        -no-reboot -bios $fw -kernel "$dir/kernel.bin" </dev/null >"$dir/run.out" 2>&1
    rc=$?
    cat "$dir/run.out" >>"$log"
    echo "exit status $rc" >>"$log"
    line=$(grep -E '^(PASSED|FAILED)' "$dir/run.out" | tail -1)
    echo "-m 128M: ${line:-no result (status $rc)}"
    [ $rc -eq 0 ] && case $line in PASSED*) exit 0 ;; esac
    exit 1 ;;
*) echo "usage: $0 describe|packages|missing|run DIR LOG" >&2; exit 2 ;;
esac
