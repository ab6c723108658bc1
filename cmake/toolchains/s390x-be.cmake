# SPDX-License-Identifier: MIT
# s390x-be.cmake - IBM Z, big-endian with 64-bit pointers, static Linux
# binaries under qemu-s390x: the only 64-bit big-endian target, which catches
# bitmap and pointer-tag bugs a 32-bit big-endian machine does not.
#   cmake -S . -B build/s390x-be -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/s390x-be.cmake
set(HK_LU_TRIPLE s390x-linux-gnu)
set(HK_LU_QEMU qemu-s390x)
set(HK_LU_PTR 8)
set(HK_LU_ARCH s390x)
include(${CMAKE_CURRENT_LIST_DIR}/linux-user.cmake)
