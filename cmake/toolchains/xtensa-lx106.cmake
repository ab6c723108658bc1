# SPDX-License-Identifier: MIT
# xtensa-lx106.cmake - Xtensa LX106 (the ESP8266's core: call0 ABI, no
# hardware divider, unaligned loads and stores fault) bare metal, no C
# library, on QEMU's `sim` board (qemu-system-xtensa -M sim -cpu lx106) with
# the simulator calls for console and exit (-semihosting). Debian 12:
# gcc-xtensa-lx106 (with binutils-xtensa-lx106), qemu-system-misc.
#   cmake -S . -B build/xtensa -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/xtensa-lx106.cmake
#
# Debian's lx106 libgcc leaves out the helpers the chip's ROM provides: the
# unsigned and signed 32/64-bit division, the 64-bit multiply and the basic
# soft-float operations. heapkit's library needs none of them (scripts/
# size.sh checks); the test harness and the sanity suite do, and get them
# from ports/freestanding: hk_libc.c (HK_LIBC_GCC_HELPERS: division, 64-bit
# multiply) and hk_softfloat.c (IEEE 754 add, subtract, multiply, divide).
#
# ESP32's core (LX6, windowed ABI) has no Debian compiler and no QEMU model
# upstream; LX106 is the nearest Xtensa that runs here.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR xtensa)
set(CMAKE_C_COMPILER xtensa-lx106-elf-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

get_filename_component(HK_ROOT "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(HK_PORT "${HK_ROOT}/ports/xtensa")

if(NOT DEFINED HK_XT_ARENA)
  set(HK_XT_ARENA 1048576)     # the test arena, in sysram0
endif()
if(NOT DEFINED HK_XT_SCALE_DIV)
  set(HK_XT_SCALE_DIV 4)
endif()
# -mtext-section-literals: literal pools next to their code (instram0).
set(_arch "-mtext-section-literals")
set(CMAKE_C_FLAGS_INIT "${_arch} -ffreestanding -ffunction-sections -fdata-sections \
-DHK_TEST_ARENA_SIZE=${HK_XT_ARENA} -DHK_TEST_SCALE_DIV=${HK_XT_SCALE_DIV} -DHK_EXPECT_PTR_SIZE=4 \
-DHK_EXPECT_BIG_ENDIAN=0 -DHK_PORT_BARE_METAL=1 -DHK_PORT_TRAP_UNALIGNED=1 -DHK_LIBC_GCC_HELPERS=1")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_arch} -nostdlib -static -T ${HK_PORT}/link.ld \
-Wl,--gc-sections -Wl,--defsym=__stack_size=32768")

set(_sources "${HK_PORT}/vectors.c;${HK_PORT}/startup.c;${HK_ROOT}/ports/freestanding/hk_libc.c"
    "${HK_ROOT}/ports/freestanding/hk_softfloat.c")
set(HK_TARGET_MAIN "${HK_PORT}/main.c" CACHE FILEPATH "test image main (ports/)")
set(HK_TARGET_SOURCES "${_sources}" CACHE STRING "port sources for the test image")
set(HK_TARGET_LIBS "gcc" CACHE STRING "libraries for the test image")
set(CMAKE_CROSSCOMPILING_EMULATOR "${HK_ROOT}/ports/qemu-run.sh;qemu-system-xtensa"
    -M sim -cpu lx106 -semihosting -display none -monitor none -serial none -nographic -kernel)

# ports/selftest: a pass, a failure, a trap, an unaligned word load (LX106
# faults on it, like Cortex-M0) and a stack overflow reach QEMU's exit status.
set(HK_PORT_SELFTEST_MAIN "${HK_PORT}/main.c")
set(HK_PORT_SELFTEST_SOURCES "${_sources};${HK_ROOT}/ports/baremetal/selftest.c")
set(HK_PORT_SELFTEST_CASES "1:0;2:1;3:99;4:99;5:98")
