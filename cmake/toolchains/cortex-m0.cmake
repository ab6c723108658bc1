# SPDX-License-Identifier: MIT
# cortex-m0.cmake - ARMv6-M (Thumb-1 subset, no hardware divide, no unaligned
# access: a misaligned word access faults) on QEMU's micro:bit (nRF51, M0).
# The real nRF51822 has 16 KiB of SRAM; QEMU's nRF51 model takes its size as
# a property (-global nrf51-soc.sram-size). The test arena is 32 KiB, the
# smallest the suites support, so this is also the small-board build; the
# RAM is 256 KiB because the suites' own static tables (pointer arrays,
# model slots) take about 110 KiB beside it. The flash is raised to 1 MiB
# (nrf51-soc.flash-size) so the whole suite fits at every debug level.
#   cmake -S . -B build/cortex-m0 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/cortex-m0.cmake
set(HK_CM_CPU cortex-m0)
set(HK_CM_FPU_FLAGS "-mfloat-abi=soft")
set(HK_CM_MACHINE microbit)
set(HK_CM_QEMU_EXTRA "-global;nrf51-soc.sram-size=262144;-global;nrf51-soc.flash-size=1048576")
set(HK_CM_FLASH 1M)
set(HK_CM_RAM 256K)
set(HK_CM_STACK 8K)
set(HK_CM_ARENA 32768)
set(HK_CM_SCALE_DIV 16)
set(HK_CM_TRAP_UNALIGNED 0)
set(HK_CM_NEWLIB 0)
include(${CMAKE_CURRENT_LIST_DIR}/cortex-m.cmake)
