# riscv.cmake - shared part of heapkit's RISC-V toolchain files (riscv32.cmake,
# riscv64.cmake set HK_RV_XLEN and include this). Bare metal, M-mode, no C
# library: riscv64-unknown-elf-gcc (its multilibs include rv32imac/ilp32 and
# rv64imac/lp64), tests under qemu-system-riscv32/64 -M virt -bios none.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv${HK_RV_XLEN})
set(CMAKE_C_COMPILER riscv64-unknown-elf-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

get_filename_component(HK_ROOT "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(HK_PORT "${HK_ROOT}/ports/riscv")

if(HK_RV_XLEN EQUAL 64)
  set(_arch "-march=rv64imac -mabi=lp64 -mcmodel=medany")
  set(_ptr 8)
else()
  set(_arch "-march=rv32imac -mabi=ilp32 -mcmodel=medany")
  set(_ptr 4)
endif()
set(CMAKE_C_FLAGS_INIT "${_arch} -ffreestanding -ffunction-sections -fdata-sections \
-DHK_TEST_ARENA_SIZE=1048576 -DHK_TEST_SCALE_DIV=4 -DHK_EXPECT_PTR_SIZE=${_ptr} \
-DHK_EXPECT_BIG_ENDIAN=0 -DHK_PORT_BARE_METAL=1")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_arch} -nostdlib -static -T ${HK_PORT}/link.ld \
-Wl,--gc-sections -Wl,--no-warn-rwx-segments -Wl,--defsym=__stack_size=65536")

set(HK_TARGET_MAIN "${HK_PORT}/main.c" CACHE FILEPATH "test image main (ports/)")
set(HK_TARGET_SOURCES "${HK_PORT}/startup.c;${HK_ROOT}/ports/freestanding/hk_libc.c"
    CACHE STRING "port sources for the test image")
set(HK_TARGET_LIBS "gcc" CACHE STRING "libraries for the test image")
set(CMAKE_CROSSCOMPILING_EMULATOR "${HK_ROOT}/ports/qemu-run.sh;qemu-system-riscv${HK_RV_XLEN}"
    -M virt -bios none -display none -monitor none -serial stdio -kernel)

# ports/selftest: a pass, a failure and a trap must reach QEMU's exit status.
set(HK_PORT_SELFTEST_MAIN "${HK_PORT}/main.c")
set(HK_PORT_SELFTEST_SOURCES "${HK_PORT}/startup.c;${HK_ROOT}/ports/freestanding/hk_libc.c;${HK_ROOT}/ports/baremetal/selftest.c")
set(HK_PORT_SELFTEST_CASES "1:0;2:1;3:99;5:98")
