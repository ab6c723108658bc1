#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/freertos-size.sh - flash and RAM of heapkit as the FreeRTOS heap on
# Cortex-M4 (-Os, -ffunction-sections, --gc-sections): a minimal image that
# calls pvPortMalloc, vPortFree and xPortGetFreeHeapSize, linked against
# ports/freertos/heapkit_freertos.c and libheapkit, built against the
# FreeRTOS test double's headers (the kernel's own code is not counted: only
# sections from the port and libheapkit are summed, from the linker map).
# Prints text (code + rodata), data and bss, for the default configuration
# and TLSF only, plus the control structure heapkit keeps inside ucHeap.
#   scripts/freertos-size.sh [configTOTAL_HEAP_SIZE]   (default 16384)
set -eu
cd "$(dirname "$0")/.."
root=$PWD
out=$root/build/freertos-size
total=${1:-16384}
CC=arm-none-eabi-gcc
command -v $CC >/dev/null || { echo "needs $CC"; exit 77; }
rm -rf "$out"; mkdir -p "$out"
arch="-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard"
cflags="$arch -std=c11 -Os -ffreestanding -ffunction-sections -fdata-sections -I$root/include -I$root/src"
cat >"$out/app.c" <<'APP'
#include <stddef.h>
#include "FreeRTOS.h"
void vTaskSuspendAll(void) {}
BaseType_t xTaskResumeAll(void) { return 0; }
BaseType_t xPortIsInsideInterrupt(void) { return 0; }
void fake_enter_critical(void) {}
void fake_exit_critical(void) {}
UBaseType_t fake_enter_critical_from_isr(void) { return 0; }
void fake_exit_critical_from_isr(UBaseType_t s) { (void)s; }
void fake_assert_failed(const char *e) { (void)e; }
unsigned long fake_trace_malloc_calls, fake_trace_free_calls; size_t fake_trace_free_size;
volatile size_t sink;
void entry(void);
void entry(void)
{
    void *p = pvPortMalloc(100);
    sink = xPortGetFreeHeapSize();
    vPortFree(p);
}
APP
measure() {  # name extra-cflags...
    local name=$1; shift
    local d=$out/$name objs=()
    mkdir -p "$d"
    for f in $(ls src/*/*.c | grep -v '^src/malloc/'); do
        $CC $cflags "$@" -c "$f" -o "$d/$(echo "$f" | tr / _).o"
        objs+=("$d/$(echo "$f" | tr / _).o")
    done
    arm-none-eabi-ar rcs "$d/libheapkit.a" "${objs[@]}"
    $CC $cflags "$@" -I"$root/tests/freertos/fake" -DconfigTOTAL_HEAP_SIZE="$total" \
        -c ports/freertos/heapkit_freertos.c -o "$d/port.o"
    $CC $cflags -I"$root/tests/freertos/fake" -c "$out/app.c" -o "$d/app.o"
    $CC $arch -nostdlib -Wl,-e,entry -Wl,--gc-sections -Wl,-Map="$d/map" "$d/app.o" "$d/port.o" \
        "$d/libheapkit.a" ports/freestanding/hk_libc.c -I"$root/ports/freestanding" -lgcc -o "$d/image.elf"
    # sum the port's and libheapkit's input sections (ucHeap separately)
    awk -v name="$name" '
        function hex(s,    i, c, v) { v = 0; s = tolower(substr(s, 3))
            for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
            return v }
        /^Linker script and memory map/ { on = 1; next }
        !on { next }
        /^ \.[A-Za-z_]/ || /^ COMMON/ {
            sec = $1
            if (NF >= 4) { size = $3; file = $4 } else { getline; size = $2; file = $3 }
            if (file !~ /(port\.o|libheapkit\.a)/ || size !~ /^0x/) next
            n = hex(size)
            if (sec ~ /ucHeap/) { heap += n; next }
            if (sec ~ /^\.(text|rodata)/) t += n
            else if (sec ~ /^\.data/) d += n
            else if (sec ~ /^\.bss/ || sec == "COMMON") b += n
        }
        END { printf "%-10s text %5d  data %3d  bss %3d  (+ ucHeap %d)\n", name, t, d, b, heap }' "$d/map"
}
echo "heapkit FreeRTOS port, Cortex-M4F, -Os, --gc-sections, configTOTAL_HEAP_SIZE=$total"
measure default
measure tlsf-only -DHK_ENABLE_FIRST_FIT=0 -DHK_ENABLE_BEST_FIT=0
# The control structure heapkit keeps inside ucHeap: hk_heap_overhead() for
# a 32-bit target with 8-byte HK_ALIGN (Cortex-M's), computed on the host
# with gcc -m32 -DHK_ALIGN=8 (the same word size and alignment).
if echo 'int main(void){return 0;}' | gcc -m32 -x c -o /dev/null - 2>/dev/null; then
    cat >"$out/ovh.c" <<OVH
#include <stdio.h>
#include "heapkit/heap.h"
int main(void)
{
    printf("control structure inside ucHeap: %zu bytes (hk_heap_overhead, 32-bit, HK_ALIGN 8)\\n",
           hk_heap_overhead($total, NULL));
    return 0;
}
OVH
    gcc -m32 -std=c11 -O1 -DHK_ALIGN=8 -I"$root/include" -I"$root/src" "$out/ovh.c" \
        $(ls src/*/*.c | grep -v '^src/malloc/') -o "$out/ovh" && "$out/ovh"
fi
