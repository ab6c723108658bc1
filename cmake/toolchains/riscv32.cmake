# SPDX-License-Identifier: MIT
# riscv32.cmake - RV32IMAC (ilp32) bare metal on qemu-system-riscv32 -M virt.
#   cmake -S . -B build/riscv32 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/riscv32.cmake
set(HK_RV_XLEN 32)
include(${CMAKE_CURRENT_LIST_DIR}/riscv.cmake)
