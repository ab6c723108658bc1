# SPDX-License-Identifier: MIT
# riscv64.cmake - RV64IMAC (lp64) bare metal on qemu-system-riscv64 -M virt.
#   cmake -S . -B build/riscv64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/riscv64.cmake
set(HK_RV_XLEN 64)
include(${CMAKE_CURRENT_LIST_DIR}/riscv.cmake)
