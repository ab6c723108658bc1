# SPDX-License-Identifier: MIT
# mips-be.cmake - MIPS32 big-endian (o32), static Linux binaries under
# qemu-mips: big-endian with 32-bit pointers and 8-byte max_align_t.
#   cmake -S . -B build/mips-be -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/mips-be.cmake
set(HK_LU_TRIPLE mips-linux-gnu)
set(HK_LU_QEMU qemu-mips)
set(HK_LU_PTR 4)
set(HK_LU_ARCH mips)
include(${CMAKE_CURRENT_LIST_DIR}/linux-user.cmake)
