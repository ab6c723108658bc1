# SPDX-License-Identifier: MIT
# riscv.cmake - shared part of heapkit's RISC-V toolchain files (riscv32.cmake,
# riscv64.cmake set HK_RV_XLEN and include this). Bare metal, M-mode:
# riscv64-unknown-elf-gcc (its multilibs include rv32imac/ilp32 and
# rv64imac/lp64). This file describes the target only; heapkit's test images
# (qemu-system-riscv32/64 -M virt -bios none, no C library) get their
# settings from cmake/hk_test_target.cmake.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv${HK_RV_XLEN})
set(CMAKE_C_COMPILER riscv64-unknown-elf-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(HK_TARGET_KIND riscv)

if(HK_RV_XLEN EQUAL 64)
  set(_arch "-march=rv64imac -mabi=lp64 -mcmodel=medany")
else()
  set(_arch "-march=rv32imac -mabi=ilp32 -mcmodel=medany")
endif()
# -ffreestanding: Debian's riscv64-unknown-elf-gcc comes without a C library
# (no <stdint.h> beyond the compiler's freestanding headers)
set(CMAKE_C_FLAGS_INIT "${_arch} -ffreestanding -ffunction-sections -fdata-sections")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_arch} -Wl,--gc-sections")
