# SPDX-License-Identifier: MIT
# x86-32.cmake - 32-bit x86 Linux (gcc -m32, needs gcc-multilib): 4-byte
# pointers and words, 16-byte max_align_t. Runs natively, hosted suites too.
# scripts/test.sh also has an -m32 host build; this file lets the same
# configuration run from scripts/targets.sh and from any CMake user.
#   cmake -S . -B build/x86-32 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/x86-32.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR i686)
set(CMAKE_C_COMPILER gcc)
set(CMAKE_C_FLAGS_INIT "-m32")
set(CMAKE_CXX_FLAGS_INIT "-m32")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-m32")
set(HK_TARGET_KIND x86-32)
