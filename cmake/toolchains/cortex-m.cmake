# SPDX-License-Identifier: MIT
# cortex-m.cmake - shared part of heapkit's Cortex-M toolchain files
# (cortex-m0.cmake, cortex-m3.cmake, cortex-m4f.cmake set the HK_CM_* variables
# below and include this file). Bare metal: arm-none-eabi-gcc.
#
# This file describes the target only: compiler, CPU, float ABI, sections.
# What heapkit's own test images need on top (QEMU machine, linker script,
# semihosting, test arena size, C library choice) is applied by
# cmake/hk_test_target.cmake to the test executables alone, so a firmware
# that uses this toolchain file gets a plain library.
#
# Inputs:
#   HK_CM_CPU          -mcpu value                 (cortex-m0, cortex-m3, cortex-m4)
#   HK_CM_FPU_FLAGS    float ABI flags             (empty or -mfpu=... -mfloat-abi=hard)
#   HK_CM_TRAP_UNALIGNED  1: compile with -mno-unaligned-access (the test
#                      image also sets CCR.UNALIGN_TRP)
# Test-image inputs (read by cmake/hk_test_target.cmake):
#   HK_CM_MACHINE      QEMU machine                (microbit, mps2-an385, mps2-an386)
#   HK_CM_QEMU_EXTRA   more QEMU arguments (;-list)
#   HK_CM_FLASH/RAM/STACK   memory sizes for the linker script (e.g. 256K)
#   HK_CM_ARENA, HK_CM_SCALE_DIV   the test arena and the randomized-test divisor
#   HK_CM_NEWLIB       1: link newlib-nano + librdimon, heapkit serves malloc
# Used alone (-DCMAKE_TOOLCHAIN_FILE=.../cortex-m.cmake), it is the Cortex-M3.
if(NOT DEFINED HK_CM_CPU)
  include(${CMAKE_CURRENT_LIST_DIR}/cortex-m3.cmake)
  return()
endif()
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(HK_TARGET_KIND cortex-m)

set(_arch "-mcpu=${HK_CM_CPU} -mthumb ${HK_CM_FPU_FLAGS}")
if(HK_CM_TRAP_UNALIGNED)
  string(APPEND _arch " -mno-unaligned-access")
endif()
set(CMAKE_C_FLAGS_INIT "${_arch} -ffunction-sections -fdata-sections")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_arch} -Wl,--gc-sections")
