# SPDX-License-Identifier: MIT
# cortex-m3.cmake - ARMv7-M on QEMU's mps2-an385 (4 MiB code, 4 MiB RAM), no C
# library. The unaligned-access trap (CCR.UNALIGN_TRP) is on and the compiler
# emits no unaligned accesses itself, so a misaligned header or link access in
# heapkit faults here as it would on a Cortex-M0.
#   cmake -S . -B build/cortex-m3 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/cortex-m3.cmake
set(HK_CM_CPU cortex-m3)
set(HK_CM_FPU_FLAGS "-mfloat-abi=soft")
set(HK_CM_MACHINE mps2-an385)
set(HK_CM_QEMU_EXTRA "")
set(HK_CM_FLASH 4M)
set(HK_CM_RAM 4M)
set(HK_CM_STACK 32K)
set(HK_CM_ARENA 1048576)
set(HK_CM_SCALE_DIV 4)
set(HK_CM_TRAP_UNALIGNED 1)
set(HK_CM_NEWLIB 0)
include(${CMAKE_CURRENT_LIST_DIR}/cortex-m.cmake)
