# SPDX-License-Identifier: MIT
# hk_test_target.cmake - what heapkit's own test images need on a target,
# beyond the target itself (cmake/toolchains/*.cmake describe only the
# target). Included by the top-level CMakeLists.txt when tests are built and
# by ports/selftest; applied to the test executables only, never to the
# libraries a firmware links.
#
# Reads the HK_TARGET_KIND and HK_CM_* / HK_RV_* / HK_LU_* variables the
# toolchain file set, and sets:
#   HK_TEST_DEFS           compile definitions of the test sources (;-list)
#   HK_TEST_COMPILE_OPTIONS, HK_TEST_LINK_OPTIONS, HK_TEST_INCLUDE_DIRS
#   HK_TARGET_MAIN, HK_TARGET_SOURCES, HK_TARGET_LIBS   the test image's main,
#                          its other port sources, its libraries (a value
#                          given on the command line wins)
#   HK_TEST_NEWLIB         ON when the image is linked with newlib
#   CMAKE_CROSSCOMPILING_EMULATOR   how ctest runs an image
#   HK_PORT_SELFTEST_*     the port self-test (ports/selftest/CMakeLists.txt)
# A target kind it does not know (a toolchain file that sets its own flags)
# is left alone.
get_filename_component(_hk_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(HK_TEST_DEFS "")
set(HK_TEST_COMPILE_OPTIONS "")
set(HK_TEST_LINK_OPTIONS "")
set(HK_TEST_NEWLIB OFF)
set(HK_TEST_INCLUDE_DIRS "")

macro(_hk_default var)
  if(NOT ${var})
    set(${var} ${ARGN})
  endif()
endmacro()

if(HK_TARGET_KIND STREQUAL "cortex-m")
  set(HK_PORT "${_hk_root}/ports/cortexm")
  list(APPEND HK_TEST_DEFS HK_TEST_ARENA_SIZE=${HK_CM_ARENA} HK_TEST_SCALE_DIV=${HK_CM_SCALE_DIV}
       HK_EXPECT_PTR_SIZE=4 HK_EXPECT_BIG_ENDIAN=0 HK_PORT_BARE_METAL=1)
  if(HK_CM_TRAP_UNALIGNED)
    list(APPEND HK_TEST_DEFS HK_PORT_TRAP_UNALIGNED=1)
  endif()
  list(APPEND HK_TEST_LINK_OPTIONS -T ${HK_PORT}/link.ld -Wl,--defsym=__flash_size=${HK_CM_FLASH}
       -Wl,--defsym=__ram_size=${HK_CM_RAM} -Wl,--defsym=__stack_size=${HK_CM_STACK})
  set(_src "${HK_PORT}/startup.c")
  if(HK_CM_NEWLIB)
    # newlib-nano with semihosted stdio; heapkit serves malloc (ports/newlib,
    # proven by ports/cortexm/test_newlib.c). -nostartfiles: startup.c is the entry.
    set(HK_TEST_NEWLIB ON)
    list(APPEND HK_TEST_DEFS HK_PORT_NEWLIB=1)
    list(APPEND HK_TEST_LINK_OPTIONS -nostartfiles --specs=nano.specs --specs=rdimon.specs
         -u _printf_float)
    list(APPEND _src "${HK_PORT}/test_newlib.c")
    # the FreeRTOS heap port on the target too (against the test double)
    list(APPEND _src "${_hk_root}/tests/freertos/test_freertos_heap.c"
         "${_hk_root}/tests/freertos/fake/fake_freertos.c" "${_hk_root}/ports/freertos/heapkit_freertos.c")
    list(APPEND HK_TEST_INCLUDE_DIRS "${_hk_root}/tests/freertos/fake")
    list(APPEND HK_TEST_DEFS FAKE_VARIANT_HEAP4 configTOTAL_HEAP_SIZE=16384
         configUSE_MALLOC_FAILED_HOOK=1 configHEAP_CLEAR_MEMORY_ON_FREE=1)
    set(_libs "heapkit_newlib;c;rdimon;gcc")
  else()
    list(APPEND HK_TEST_COMPILE_OPTIONS -ffreestanding)
    list(APPEND HK_TEST_LINK_OPTIONS -nostdlib)
    list(APPEND _src "${_hk_root}/ports/freestanding/hk_libc.c")
    set(_libs "gcc")
  endif()
  _hk_default(HK_TARGET_MAIN "${HK_PORT}/main.c")
  _hk_default(HK_TARGET_SOURCES "${_src}")
  _hk_default(HK_TARGET_LIBS "${_libs}")
  set(CMAKE_CROSSCOMPILING_EMULATOR "${_hk_root}/ports/qemu-run.sh;qemu-system-arm;-M;${HK_CM_MACHINE}")
  list(APPEND CMAKE_CROSSCOMPILING_EMULATOR ${HK_CM_QEMU_EXTRA} -display none -monitor none
       -serial none -semihosting-config enable=on,target=native -kernel)
  # a pass, a failure and a trap must reach QEMU's exit status; an unaligned
  # word load must fault where the core traps it
  set(HK_PORT_SELFTEST_MAIN "${HK_PORT}/main.c")
  set(HK_PORT_SELFTEST_SOURCES "${HK_PORT}/startup.c;${_hk_root}/ports/baremetal/selftest.c")
  if(NOT HK_CM_NEWLIB)
    list(APPEND HK_PORT_SELFTEST_SOURCES "${_hk_root}/ports/freestanding/hk_libc.c")
  endif()
  set(HK_PORT_SELFTEST_CASES "1:0;2:1;3:99;5:98")
  if(HK_CM_CPU STREQUAL "cortex-m0" OR HK_CM_TRAP_UNALIGNED)
    list(APPEND HK_PORT_SELFTEST_CASES "4:99")
  endif()
  set(HK_PORT_SELFTEST_LIBS "${_libs}")
  list(REMOVE_ITEM HK_PORT_SELFTEST_LIBS heapkit_newlib)

elseif(HK_TARGET_KIND STREQUAL "riscv")
  set(HK_PORT "${_hk_root}/ports/riscv")
  if(HK_RV_XLEN EQUAL 64)
    set(_ptr 8)
  else()
    set(_ptr 4)
  endif()
  list(APPEND HK_TEST_DEFS HK_TEST_ARENA_SIZE=1048576 HK_TEST_SCALE_DIV=4 HK_EXPECT_PTR_SIZE=${_ptr}
       HK_EXPECT_BIG_ENDIAN=0 HK_PORT_BARE_METAL=1)
  list(APPEND HK_TEST_COMPILE_OPTIONS -ffreestanding)
  list(APPEND HK_TEST_LINK_OPTIONS -nostdlib -static -T ${HK_PORT}/link.ld -Wl,--no-warn-rwx-segments
       -Wl,--defsym=__stack_size=65536)
  _hk_default(HK_TARGET_MAIN "${HK_PORT}/main.c")
  _hk_default(HK_TARGET_SOURCES "${HK_PORT}/startup.c;${_hk_root}/ports/freestanding/hk_libc.c")
  _hk_default(HK_TARGET_LIBS "gcc")
  set(CMAKE_CROSSCOMPILING_EMULATOR "${_hk_root}/ports/qemu-run.sh;qemu-system-riscv${HK_RV_XLEN}"
      -M virt -bios none -display none -monitor none -serial stdio -kernel)
  set(HK_PORT_SELFTEST_MAIN "${HK_PORT}/main.c")
  set(HK_PORT_SELFTEST_SOURCES "${HK_PORT}/startup.c;${_hk_root}/ports/freestanding/hk_libc.c;${_hk_root}/ports/baremetal/selftest.c")
  set(HK_PORT_SELFTEST_CASES "1:0;2:1;3:99;5:98")
  set(HK_PORT_SELFTEST_LIBS "gcc")

elseif(HK_TARGET_KIND STREQUAL "linux-user")
  list(APPEND HK_TEST_DEFS HK_EXPECT_PTR_SIZE=${HK_LU_PTR} HK_EXPECT_BIG_ENDIAN=1 HK_TEST_SCALE_DIV=2)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${_hk_root}/ports/qemu-run.sh;${HK_LU_QEMU}")
  set(HK_PORT_SELFTEST_MAIN "${_hk_root}/ports/hosted/selftest.c")
  set(HK_PORT_SELFTEST_CASES "1:0;2:1;3:nonzero;4:nonzero")

elseif(HK_TARGET_KIND STREQUAL "x86-32")
  list(APPEND HK_TEST_DEFS HK_EXPECT_PTR_SIZE=4 HK_EXPECT_BIG_ENDIAN=0)
  set(HK_PORT_SELFTEST_MAIN "${_hk_root}/ports/hosted/selftest.c")
  set(HK_PORT_SELFTEST_CASES "1:0;2:1;3:nonzero;4:nonzero")
endif()

# hk_apply_test_target(TARGET): the settings above on one test executable.
function(hk_apply_test_target t)
  target_compile_definitions(${t} PRIVATE ${HK_TEST_DEFS})
  target_compile_options(${t} PRIVATE ${HK_TEST_COMPILE_OPTIONS})
  target_include_directories(${t} PRIVATE ${HK_TEST_INCLUDE_DIRS})
  target_link_options(${t} PRIVATE ${HK_TEST_LINK_OPTIONS})
endfunction()
