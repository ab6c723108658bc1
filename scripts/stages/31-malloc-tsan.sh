#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/stages/31-malloc-tsan.sh - heapkit's malloc test suites (the hk_*
# API in-process: basic, realloc, align, threads, ...) built with
# ThreadSanitizer, so that the lock-free parts - remote frees, orphan
# arenas, thread binding and exit, the span tags read without a lock - are
# checked for data races on every CI run. The suites that replace the C
# library's malloc (static link, LD_PRELOAD) cannot run under TSan, which
# owns malloc; they run in the other builds. Neither does malloc_fork: it
# forks from a process whose threads hold locks, and ThreadSanitizer's own
# runtime can deadlock in such a child (it hung a CI run for the whole
# timeout); fork safety is tested in the other four builds.
# Exit 0 when all pass, 77 when no compiler here can build with TSan, else 1.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
dir=$root/build/malloc-tsan
jobs=${HK_JOBS:-2}
t0=$SECONDS

cc=
for c in clang gcc; do
    if command -v $c >/dev/null &&
       echo 'int main(void){return 0;}' | $c -fsanitize=thread -x c -o /dev/null - 2>/dev/null; then
        cc=$c
        break
    fi
done
if [ -z "$cc" ]; then
    echo "31-malloc-tsan: no compiler links -fsanitize=thread (clang or gcc with libtsan)"
    exit 77
fi

mkdir -p "$dir"
if ! cmake -S "$root" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
         -DHK_INTERNAL_ASSERTS=ON -DCMAKE_C_FLAGS="-O1 -fsanitize=thread" \
         -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" -DHKM_SHARED=OFF >"$dir.log" 2>&1 ||
   ! cmake --build "$dir" -j "$jobs" --target hkm_tests >>"$dir.log" 2>&1; then
    tail -30 "$dir.log"
    echo "31-malloc-tsan: build FAILED (see ${dir#$root/}.log)"
    exit 1
fi
t1=$SECONDS
# halt_on_error: the first race fails the run; the report is in the log.
if ! (cd "$dir" && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
        ctest -R '^malloc_' -E '^malloc_((static|preload)_|fork$)' --timeout 300 --output-on-failure \
        >"$dir.test.log" 2>&1); then
    grep -E "WARNING: ThreadSanitizer|SUMMARY|FAIL|Failed" "$dir.test.log" | head -20
    echo "31-malloc-tsan: FAILED (see ${dir#$root/}.test.log)"
    exit 1
fi
n=$(grep -Eo '[0-9]+ tests passed|[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$dir.test.log" | tail -1)
echo "31-malloc-tsan: $n with ThreadSanitizer ($cc; build $((t1 - t0))s, run $((SECONDS - t1))s)"
