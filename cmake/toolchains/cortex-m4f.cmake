# SPDX-License-Identifier: MIT
# cortex-m4f.cmake - ARMv7E-M with the single-precision FPU, hard-float ABI,
# on QEMU's mps2-an386 (4 MiB code, 4 MiB RAM). heapkit's test image for it
# (cmake/hk_test_target.cmake) is linked with newlib-nano, whose malloc family
# is served by heapkit (ports/newlib, heapkit::newlib), proven by the
# newlib_heap suite. newlib's prebuilt code makes unaligned accesses, so the
# unaligned trap stays off.
#   cmake -S . -B build/cortex-m4f -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/cortex-m4f.cmake
set(HK_CM_CPU cortex-m4)
set(HK_CM_FPU_FLAGS "-mfpu=fpv4-sp-d16 -mfloat-abi=hard")
set(HK_CM_MACHINE mps2-an386)
set(HK_CM_QEMU_EXTRA "")
set(HK_CM_FLASH 4M)
set(HK_CM_RAM 4M)
set(HK_CM_STACK 32K)
set(HK_CM_ARENA 1048576)
set(HK_CM_SCALE_DIV 4)
set(HK_CM_TRAP_UNALIGNED 0)
set(HK_CM_NEWLIB 1)
include(${CMAKE_CURRENT_LIST_DIR}/cortex-m.cmake)
