#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kernel-x86_64: heapkit as the memory manager of a small x86-64 kernel
# (ports/kernel-x86_64 + ports/kernel-common), booted by QEMU's Multiboot
# loader, run twice: -m 128M under -icount (stable fault costs) and -m 3G on
# q35 (RAM above 4 GiB). See scripts/targets.sh for the interface.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
case ${1:-} in
describe) echo "x86-64 kernel under qemu-system-x86_64 -kernel (Multiboot 1): hk_pages, hk_vm on HK_PT_X86_64, #PF, ring 3" ;;
packages) echo "qemu-system-x86 gcc" ;;
missing)
    for c in gcc objcopy qemu-system-x86_64; do
        command -v $c >/dev/null 2>&1 || { echo "$c not found"; exit 0; }
    done ;;
run)
    dir=$2 log=$3
    mkdir -p "$dir"
    src=(ports/kernel-x86_64/boot.S ports/kernel-x86_64/trap.S ports/kernel-x86_64/kernel.c
         ports/kernel-common/ktest.c ports/liballoc/liballoc.c ports/freestanding/hk_libc.c
         src/common/error.c src/heap/*.c src/pages/pages.c src/vm/vm.c src/vm/pt.c src/vm/kheap.c)
    cd "$root"
    echo "=== ports/liballoc host test (ASan + UBSan)" >>"$log"
    if ! gcc -std=c11 -O1 -g -Wall -Wextra -Werror -Wconversion -Wsign-conversion -Wshadow \
            -fsanitize=address,undefined -fno-sanitize-recover=all '-DHK_LIBALLOC_PREFIX(f)=my_##f' \
            -Iinclude -Isrc -Iports/liballoc ports/liballoc/test_liballoc.c ports/liballoc/liballoc.c \
            src/common/error.c src/heap/*.c -o "$dir/test_liballoc" >>"$log" 2>&1 ||
       ! "$dir/test_liballoc" >>"$log" 2>&1; then
        echo "liballoc host test failed"; exit 1
    fi
    echo "=== build" >>"$log"
    if ! gcc -std=gnu11 -O2 -g -m64 -ffreestanding -fno-pie -no-pie -fno-stack-protector \
            -mno-red-zone -mgeneral-regs-only -mcmodel=kernel -fno-asynchronous-unwind-tables \
            -fno-omit-frame-pointer -Wall -Wextra -Wconversion -Wsign-conversion -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wundef -Wcast-align -Werror \
            ${KTEST_CFLAGS:-} -Iinclude -Isrc -Iports/kernel-common -Iports/liballoc -Iports/freestanding \
            -nostdlib -static -T ports/kernel-x86_64/link.ld -Wl,--build-id=none -Wl,-z,noexecstack \
            "${src[@]}" -lgcc -o "$dir/kernel.elf" >>"$log" 2>&1 ||
       ! objcopy -O binary "$dir/kernel.elf" "$dir/kernel.bin" >>"$log" 2>&1; then
        echo "build failed"; exit 1
    fi
    ok=0 runs=""
    for cfg in "-m 128M -icount shift=0" "-M q35 -m 3G"; do
        echo "=== qemu $cfg" >>"$log"
        # shellcheck disable=SC2086
        timeout 60 qemu-system-x86_64 $cfg -cpu max -display none -serial stdio -no-reboot \
            -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$dir/kernel.bin" \
            </dev/null >"$dir/run.out" 2>&1
        rc=$?
        cat "$dir/run.out" >>"$log"
        line=$(grep -E '^(PASSED|FAILED)' "$dir/run.out" | tail -1)
        echo "exit status $rc" >>"$log"
        runs+="${cfg%% -icount*}: ${line:-no result (status $rc)}; "
        [ $rc -eq 33 ] || ok=1
    done
    echo "${runs%; }"
    exit $ok ;;
*) echo "usage: $0 describe|packages|missing|run DIR LOG" >&2; exit 2 ;;
esac
