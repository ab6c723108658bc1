# x86-32.cmake - 32-bit x86 Linux (gcc -m32, needs gcc-multilib): 4-byte
# pointers and words, 16-byte max_align_t. Runs natively, hosted suites too.
# scripts/test.sh also has an -m32 host build; this file lets the same
# configuration run from scripts/targets.sh and from any CMake user.
#   cmake -S . -B build/x86-32 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/x86-32.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR i686)
set(CMAKE_C_COMPILER gcc)
set(CMAKE_C_FLAGS_INIT "-m32 -DHK_EXPECT_PTR_SIZE=4 -DHK_EXPECT_BIG_ENDIAN=0")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-m32")

# ports/selftest: exit statuses, a trap and abort() must reach the caller.
get_filename_component(HK_ROOT "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
set(HK_PORT_SELFTEST_MAIN "${HK_ROOT}/ports/hosted/selftest.c")
set(HK_PORT_SELFTEST_CASES "1:0;2:1;3:nonzero;4:nonzero")
