# SPDX-License-Identifier: MIT
# linux-user.cmake - shared part of heapkit's big-endian toolchain files
# (mips-be.cmake, s390x-be.cmake set HK_LU_* and include this). These are
# Linux targets run under QEMU's user-mode emulator, so the hosted test
# programs (host_main.c, tests/linux/) run there too.
#
# Why clang: Debian's gcc-<arch>-linux-gnu cross compilers all Conflict with
# gcc-multilib, so installing one removes the -m32 host build. clang is one
# compiler for every target (--target=<triple>); it needs only Debian's cross
# libc, libgcc and binutils packages, which install alongside gcc-multilib.
# Binaries are static, so qemu-<arch> needs no target root file system.
#
# Inputs: HK_LU_TRIPLE (mips-linux-gnu), HK_LU_QEMU (qemu-mips),
#         HK_LU_PTR (4 or 8), HK_LU_ARCH (processor name for CMake)
# Used alone (-DCMAKE_TOOLCHAIN_FILE=.../linux-user.cmake), it is MIPS32 big-endian.
if(NOT DEFINED HK_LU_TRIPLE)
  include(${CMAKE_CURRENT_LIST_DIR}/mips-be.cmake)
  return()
endif()
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${HK_LU_ARCH})
set(CMAKE_C_COMPILER clang)
set(CMAKE_C_COMPILER_TARGET ${HK_LU_TRIPLE})
set(CMAKE_SYSROOT /usr/${HK_LU_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

# static: with Debian's cross C libraries under --sysroot only static links
# work (the dynamic ones name host paths), and qemu-user then needs no root
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(HK_TARGET_KIND linux-user)
# heapkit's test programs (static, run under ${HK_LU_QEMU}): cmake/hk_test_target.cmake
