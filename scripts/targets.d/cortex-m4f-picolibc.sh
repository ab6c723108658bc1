#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cortex-m4f-picolibc - the Cortex-M4F image linked with picolibc instead of
# newlib: picolibc's malloc family is heapkit (ports/picolibc, proven by
# tests/picolibc). Built as a firmware project would use heapkit: the
# toolchain file, add_subdirectory and heapkit::picolibc. The newlib port is
# covered by the cortex-m4f target itself. (scripts/targets.sh protocol.)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
case ${1:-} in
describe) echo "ARMv7E-M + FPU, qemu-system-arm -M mps2-an386, picolibc malloc = heapkit" ;;
packages) echo "gcc-arm-none-eabi picolibc-arm-none-eabi qemu-system-arm" ;;
missing)
    for c in arm-none-eabi-gcc qemu-system-arm cmake; do
        command -v $c >/dev/null 2>&1 || { echo "$c not found"; exit 0; }
    done
    printf 'int main(void){return 0;}\n' | arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb \
        -mfpu=fpv4-sp-d16 -mfloat-abi=hard --specs=picolibc.specs --crt0=semihost \
        --oslib=semihost -Wl,--defsym=__flash=0 -Wl,--defsym=__flash_size=0x400000 \
        -Wl,--defsym=__ram=0x20000000 -Wl,--defsym=__ram_size=0x400000 -x c - \
        -o /dev/null 2>/dev/null || echo "picolibc for arm-none-eabi not installed" ;;
run)
    dir=$2 log=$3
    rm -f "$dir/CMakeCache.txt" "$dir/hk_picolibc_test"
    if ! cmake -S "$root/tests/picolibc" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
           -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/cortex-m4f.cmake" >>"$log" 2>&1 ||
       ! cmake --build "$dir" -j 1 >>"$log" 2>&1; then
        echo "build failed"; exit 1
    fi
    # picolibc's allocator must not be in the image at all
    if grep -qE 'nano-malloc|picosbrk' "$dir/hk_picolibc_test.map"; then
        echo "picolibc's own malloc was linked beside heapkit's"; exit 1
    fi
    rc=0
    timeout "${HK_TARGET_TIMEOUT:-300}" qemu-system-arm -M mps2-an386 -display none -monitor none \
        -serial none -semihosting-config enable=on,target=native -kernel "$dir/hk_picolibc_test" \
        </dev/null >>"$log" 2>&1 || rc=$?
    counts=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    echo "exit $rc, ${counts:-no result} (picolibc)"
    [ $rc -eq 0 ] && [ -n "$counts" ] ;;
*) echo "usage: $0 describe|packages|missing|run DIR LOG" >&2; exit 2 ;;
esac
