#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/test.sh - the whole test run behind `make test`.
#
# 1. Host builds of the library and every test suite, each run with CTest:
#      release   -O2, internal assertions on
#      debug     -O0, internal assertions on
#      m32       -m32 (32-bit pointers), needs gcc-multilib; with HK_HEAP_EXACT 1,
#                the exact request sizes at HK_DEBUG 0 (every other build
#                leaves them to the debug levels)
#      sanitize  AddressSanitizer + UndefinedBehaviorSanitizer
# 2. Every stage in scripts/stages/*.sh, in name order. A stage exits 0 on
#    success, 77 when it cannot run here (it prints why), anything else on
#    failure. Under CI=true a skipped stage counts as a failure.
# Each host build has its own directory (build/<name>) configured with
# HK_BUILD_TESTS=ON whatever an earlier configuration there cached (make
# demo and make build use build/demo-tools and build/release), and CTest runs
# with --no-tests=error: a build that registers no test fails, never passes.
# Ends with "N passed, N failed" over builds and stages; exit 1 on any failure.
set -u
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc 2>/dev/null || echo 2)
pass=0; fail=0; skip=0
results=()
only=${HK_ONLY:-}          # e.g. HK_ONLY=release make test

note() { results+=("$(printf '%-28s %-8s %s' "$1" "$2" "${3:-}")"); }

host_build() {  # name cmake-args...
    local name=$1; shift
    [ -n "$only" ] && [[ ",$only," != *",$name,"* ]] && return
    local dir=$root/build/$name t0=$SECONDS
    echo "=== build $name"
    if ! cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHK_BUILD_TESTS=ON "$@" \
           >"$dir.log" 2>&1 \
       || ! cmake --build "$dir" -j "$jobs" >>"$dir.log" 2>&1; then
        tail -40 "$dir.log"; fail=$((fail+1)); note "build:$name" FAILED "(see build/$name.log)"; return
    fi
    local ntests
    ntests=$(cd "$dir" && ctest -N | sed -n 's/^Total Tests: //p')
    echo "=== test $name: ${ntests:-0} tests (built in $((SECONDS-t0))s)"
    if (cd "$dir" && ctest --output-on-failure --no-tests=error -j "$jobs" --timeout 900); then
        pass=$((pass+1)); note "build:$name" ok "$((SECONDS-t0))s, ${ntests} tests"
    else
        fail=$((fail+1)); note "build:$name" FAILED "$((SECONDS-t0))s, ${ntests:-0} tests"
    fi
}

mkdir -p build
host_build release  -DHK_INTERNAL_ASSERTS=ON -DCMAKE_C_FLAGS="-O2"
host_build debug    -DHK_INTERNAL_ASSERTS=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="-O0 -DHK_TEST_VALIDATE_ALL"
if echo 'int main(void){return 0;}' | gcc -m32 -x c -o /dev/null - 2>/dev/null; then
    host_build m32 -DHK_INTERNAL_ASSERTS=ON -DCMAKE_C_FLAGS="-m32 -O2 -DHK_HEAP_EXACT=1"
else
    if [ "${CI:-}" = true ]; then fail=$((fail+1)); note build:m32 FAILED "gcc -m32 cannot link"
    else skip=$((skip+1)); note build:m32 skipped "gcc -m32 cannot link (apt-get install gcc-multilib)"; fi
fi
host_build sanitize -DHK_SANITIZE=ON -DHK_INTERNAL_ASSERTS=ON -DCMAKE_C_FLAGS="-O1"

for st in scripts/stages/*.sh; do
    [ -e "$st" ] || continue
    name=$(basename "$st" .sh)
    [ -n "$only" ] && [[ ",$only," != *",$name,"* ]] && continue
    echo "=== stage $name"
    t0=$SECONDS
    bash "$st"; rc=$?
    if [ $rc -eq 0 ]; then pass=$((pass+1)); note "stage:$name" ok "$((SECONDS-t0))s"
    elif [ $rc -eq 77 ] && [ "${CI:-}" != true ]; then skip=$((skip+1)); note "stage:$name" skipped "(see above)"
    else fail=$((fail+1)); note "stage:$name" FAILED "rc=$rc $((SECONDS-t0))s"; fi
done

echo
echo "=== summary"
printf '%s\n' "${results[@]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
