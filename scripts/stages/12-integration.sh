#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 12-integration.sh - `make test` stage: heapkit used the ways a project
# adopts it, each checked by building and running a consumer:
#   1. the drop-in files (scripts/dropin.sh) built with only -I<out>/include,
#      for the host (run) and for Cortex-M0 (compiled) when its gcc is there
#   2. add_subdirectory(heapkit) from another CMake project: only the library
#      is built (no test, tool or benchmark target), heapkit::heapkit links
#   3. cmake --install, then find_package(heapkit 0.9) and pkg-config
#      consumers build against the installed tree
#   4. a build directory configured with tests off (as `make demo` once did)
#      and then configured the way scripts/test.sh does still lists its
#      tests, and ctest --no-tests=error fails where there are none
#   5. every source file carries the MIT licence identifier (check-spdx.sh)
# Exit 0 all passed, 1 a check failed. About 30 s.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/build/integration
rm -rf "$out"; mkdir -p "$out"
fail=0
step() { echo "--- $*"; }
bad() { echo "12-integration: FAILED: $*"; fail=1; }

cat >"$out/consumer.c" <<'C'
#include <stdio.h>
#include "heapkit/heap.h"
#include "heapkit/print.h"
#include "heapkit/version.h"
static unsigned char ram[16384];
static void pc(void *ctx, char c) { (void)ctx; putchar(c); }
int main(void)
{
    hk_heap_t *h = hk_heap_init(ram, sizeof ram, NULL);
    void *p = h ? hk_heap_alloc(h, 100) : NULL;
    if (!p)
        return 1;
    hk_print_heap(h, "consumer " HK_VERSION_STRING, pc, NULL);
    hk_heap_free(h, p);
    return hk_heap_validate(h) != 0;
}
C

step "licence identifier in every source file"
bash scripts/check-spdx.sh >"$out/spdx.log" 2>&1 || { cat "$out/spdx.log"; bad "files without SPDX-License-Identifier"; }
bash scripts/check-layers.sh || bad "a layer depends upward (scripts/check-layers.sh)"
bash scripts/check-headerbits.sh || bad "heap block header bits outside src/heap/block.h (scripts/check-headerbits.sh)"

step "drop-in files, -I include only"
bash scripts/dropin.sh "$out/dropin" >/dev/null
if gcc -std=c11 -Wall -Wextra -Werror -I"$out/dropin/include" "$out/consumer.c" \
       "$out/dropin/heapkit/"*.c -o "$out/dropin/consumer" 2>"$out/dropin.log" &&
   "$out/dropin/consumer" >>"$out/dropin.log"; then
    echo "    host: built and ran ($(ls "$out/dropin/heapkit" | wc -l) files)"
else
    cat "$out/dropin.log"; bad "drop-in build on the host"
fi
if command -v arm-none-eabi-gcc >/dev/null; then
    (cd "$out/dropin" && arm-none-eabi-gcc -mcpu=cortex-m0 -mthumb -Os -std=c11 -ffreestanding \
        -Wall -Wextra -Werror -I include -c heapkit/*.c) 2>>"$out/dropin.log" &&
        echo "    cortex-m0: compiled" || { tail -20 "$out/dropin.log"; bad "drop-in build for Cortex-M0"; }
elif [ "${CI:-}" = true ]; then bad "arm-none-eabi-gcc missing"; fi

step "add_subdirectory"
mkdir -p "$out/sub"
cat >"$out/sub/CMakeLists.txt" <<EOF2
cmake_minimum_required(VERSION 3.20)
project(consumer C)
add_subdirectory("$root" heapkit)
add_executable(consumer "$out/consumer.c")
target_link_libraries(consumer PRIVATE heapkit::heapkit)
EOF2
if cmake -S "$out/sub" -B "$out/sub/build" >"$out/sub.log" 2>&1 &&
   cmake --build "$out/sub/build" -j2 >>"$out/sub.log" 2>&1 &&
   "$out/sub/build/consumer" >>"$out/sub.log"; then
    extra=$(cmake --build "$out/sub/build" --target help | grep -cE 'hk_tests|hk-replay|hk_example|hkb_')
    [ "$extra" -eq 0 ] && echo "    built heapkit::heapkit only, consumer ran" ||
        bad "a subproject build has $extra test/tool/example targets"
else
    tail -30 "$out/sub.log"; bad "add_subdirectory consumer"
fi

step "install, find_package, pkg-config"
if cmake -S "$root" -B "$out/lib" -DCMAKE_BUILD_TYPE=Release -DHK_BUILD_TESTS=OFF \
       -DHK_BUILD_TOOLS=OFF -DHK_BUILD_EXAMPLES=OFF -DHK_BUILD_MALLOC=OFF \
       -DCMAKE_INSTALL_PREFIX="$out/prefix" >"$out/install.log" 2>&1 &&
   cmake --build "$out/lib" -j2 >>"$out/install.log" 2>&1 &&
   cmake --install "$out/lib" >>"$out/install.log" 2>&1; then
    mkdir -p "$out/pkg"
    cat >"$out/pkg/CMakeLists.txt" <<EOF2
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(heapkit 0.9 REQUIRED)
add_executable(consumer "$out/consumer.c")
target_link_libraries(consumer PRIVATE heapkit::heapkit)
EOF2
    if cmake -S "$out/pkg" -B "$out/pkg/build" -DCMAKE_PREFIX_PATH="$out/prefix" >>"$out/install.log" 2>&1 &&
       cmake --build "$out/pkg/build" >>"$out/install.log" 2>&1 && "$out/pkg/build/consumer" >/dev/null; then
        echo "    find_package(heapkit 0.9): ok"
    else
        tail -30 "$out/install.log"; bad "find_package consumer"
    fi
    if command -v pkg-config >/dev/null; then
        pc=$(find "$out/prefix" -name heapkit.pc | head -1)
        if gcc -std=c11 "$out/consumer.c" $(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs heapkit) \
               -o "$out/pkgconfig-consumer" && "$out/pkgconfig-consumer" >/dev/null; then
            echo "    pkg-config heapkit: ok"
        else
            bad "pkg-config consumer"
        fi
    elif [ "${CI:-}" = true ]; then bad "pkg-config missing (scripts/packages/integration.txt)"; fi
else
    tail -30 "$out/install.log"; bad "install"
fi

step "tests are never lost to a cached HK_BUILD_TESTS=OFF, never passed with none"
d=$out/cached
cmake -S "$root" -B "$d" -DHK_BUILD_TESTS=OFF -DHK_BUILD_TOOLS=OFF -DHK_BUILD_MALLOC=OFF >/dev/null 2>&1
cmake -S "$root" -B "$d" -DHK_BUILD_TESTS=ON >/dev/null 2>&1  # what scripts/test.sh passes
n=$(cd "$d" && ctest -N | sed -n 's/^Total Tests: //p')
[ "${n:-0}" -gt 10 ] && echo "    $n tests registered after the re-configure" ||
    bad "only ${n:-0} tests after re-configuring with HK_BUILD_TESTS=ON"
mkdir -p "$out/empty"
if (cd "$out/empty" && ctest --no-tests=error >/dev/null 2>&1); then
    bad "ctest --no-tests=error passed with no tests"
else
    echo "    ctest --no-tests=error fails on zero tests"
fi
exit $fail
