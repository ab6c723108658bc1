# cortex-m.cmake - shared part of heapkit's Cortex-M toolchain files
# (cortex-m0.cmake, cortex-m3.cmake, cortex-m4f.cmake set the HK_CM_* variables
# below and include this file). Bare metal: arm-none-eabi-gcc, no C library
# unless HK_CM_NEWLIB, tests run under qemu-system-arm with semihosting.
#
# Inputs:
#   HK_CM_CPU          -mcpu value                 (cortex-m0, cortex-m3, cortex-m4)
#   HK_CM_FPU_FLAGS    float ABI flags             (empty or -mfpu=... -mfloat-abi=hard)
#   HK_CM_MACHINE      QEMU machine                (microbit, mps2-an385, mps2-an386)
#   HK_CM_QEMU_EXTRA   more QEMU arguments (;-list)
#   HK_CM_FLASH/RAM/STACK   memory sizes for the linker script (e.g. 256K)
#   HK_CM_ARENA, HK_CM_SCALE_DIV   the test arena and the randomized-test divisor
#   HK_CM_TRAP_UNALIGNED  1: set CCR.UNALIGN_TRP and compile with -mno-unaligned-access
#   HK_CM_NEWLIB       1: link newlib-nano + librdimon, heapkit serves malloc
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

get_filename_component(HK_ROOT "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(HK_PORT "${HK_ROOT}/ports/cortexm")

set(_arch "-mcpu=${HK_CM_CPU} -mthumb ${HK_CM_FPU_FLAGS}")
set(_defs "-DHK_TEST_ARENA_SIZE=${HK_CM_ARENA} -DHK_TEST_SCALE_DIV=${HK_CM_SCALE_DIV}")
string(APPEND _defs " -DHK_EXPECT_PTR_SIZE=4 -DHK_EXPECT_BIG_ENDIAN=0 -DHK_PORT_BARE_METAL=1")
if(HK_CM_TRAP_UNALIGNED)
  string(APPEND _arch " -mno-unaligned-access")
  string(APPEND _defs " -DHK_PORT_TRAP_UNALIGNED=1")
endif()
set(CMAKE_C_FLAGS_INIT "${_arch} ${_defs} -ffunction-sections -fdata-sections")
set(_ld "${_arch} -T ${HK_PORT}/link.ld -Wl,--gc-sections -Wl,--defsym=__flash_size=${HK_CM_FLASH}")
string(APPEND _ld " -Wl,--defsym=__ram_size=${HK_CM_RAM} -Wl,--defsym=__stack_size=${HK_CM_STACK}")

set(_sources "${HK_PORT}/startup.c")
if(HK_CM_NEWLIB)
  # newlib-nano with semihosted stdio; heapkit serves malloc (newlib_heap.c),
  # and test_newlib.c proves it. -nostartfiles: startup.c is the entry.
  string(APPEND CMAKE_C_FLAGS_INIT " -DHK_PORT_NEWLIB=1")
  string(APPEND _ld " -nostartfiles --specs=nano.specs --specs=rdimon.specs -u _printf_float")
  list(APPEND _sources "${HK_PORT}/newlib_heap.c" "${HK_PORT}/test_newlib.c")
  set(_libs "c;rdimon;gcc")
else()
  string(APPEND CMAKE_C_FLAGS_INIT " -ffreestanding")
  string(APPEND _ld " -nostdlib")
  list(APPEND _sources "${HK_ROOT}/ports/freestanding/hk_libc.c")
  set(_libs "gcc")
endif()
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_ld}")

set(HK_TARGET_MAIN "${HK_PORT}/main.c" CACHE FILEPATH "test image main (ports/)")
set(HK_TARGET_SOURCES "${_sources}" CACHE STRING "port sources for the test image")
set(HK_TARGET_LIBS "${_libs}" CACHE STRING "libraries for the test image")
set(CMAKE_CROSSCOMPILING_EMULATOR "${HK_ROOT}/ports/qemu-run.sh;qemu-system-arm;-M;${HK_CM_MACHINE}")
list(APPEND CMAKE_CROSSCOMPILING_EMULATOR ${HK_CM_QEMU_EXTRA} -display none -monitor none -serial none
     -semihosting-config enable=on,target=native -kernel)

# ports/selftest: a pass, a failure and a trap must reach QEMU's exit status;
# an unaligned word load must fault where the core traps it.
set(HK_PORT_SELFTEST_MAIN "${HK_PORT}/main.c")
set(HK_PORT_SELFTEST_SOURCES "${HK_PORT}/startup.c;${HK_ROOT}/ports/baremetal/selftest.c")
if(NOT HK_CM_NEWLIB)
  list(APPEND HK_PORT_SELFTEST_SOURCES "${HK_ROOT}/ports/freestanding/hk_libc.c")
endif()
set(HK_PORT_SELFTEST_CASES "1:0;2:1;3:99;5:98")
if(HK_CM_CPU STREQUAL "cortex-m0" OR HK_CM_TRAP_UNALIGNED)
  list(APPEND HK_PORT_SELFTEST_CASES "4:99")
endif()
