#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/stages/35-tsan.sh - ThreadSanitizer over the threaded suites of the
# components with lock hooks (pool, ring, slab, chain, tiered, stack, pages:
# tests/linux/test_lock_threads.c, four threads sharing each allocator behind
# a pthread mutex). Builds the library sources those suites need and the
# harness with -fsanitize=thread into build/tsan and runs the suites; a data
# race, a failed check or a TSan report of any kind fails the stage. (The
# drop-in malloc has a TSan run of its own.) Exit 77 (skip) when the compiler
# cannot link -fsanitize=thread. About 30 s on 2 cores.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/build/tsan
CC=${HK_TSAN_CC:-gcc}
mkdir -p "$out/gen"

if ! echo 'int main(void){return 0;}' | "$CC" -x c -fsanitize=thread -o "$out/probe" - 2>/dev/null; then
    echo "35-tsan: $CC cannot link -fsanitize=thread (apt-get install libtsan2)"; exit 77
fi

suites=(lock_threads)
: >"$out/gen/hk_suites.inc"
for s in "${suites[@]}"; do echo "HK_X($s)" >>"$out/gen/hk_suites.inc"; done

srcs=("$root"/src/common/*.c "$root"/src/heap/*.c "$root"/src/debug/*.c
      "$root"/src/{pool,ring,slab,chain,stack,tiered,pages}/*.c
      "$root"/tests/harness/hk_test.c "$root"/tests/harness/host_main.c
      "$root"/tests/linux/test_lock_threads.c)
flags=(-std=gnu11 -g -O1 -fsanitize=thread -fno-omit-frame-pointer -pthread
       -DHK_ASSERTS=1 -Wall -Wextra -Werror
       -I"$out/gen" -I"$root/include" -I"$root/src" -I"$root/tests/harness" -I"$root/tests")

echo "--- build (TSan)"
if ! nice -n 10 "$CC" "${flags[@]}" -o "$out/hk_tests_tsan" "${srcs[@]}" >"$out/build.log" 2>&1; then
    cat "$out/build.log"; echo "35-tsan: build FAILED"; exit 1
fi
fail=0
for s in "${suites[@]}"; do
    echo "--- $s"
    # halt_on_error: the first race is a failure, with its report in the log
    if ! TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1" \
         "$out/hk_tests_tsan" "$s" >"$out/$s.log" 2>&1; then
        tail -60 "$out/$s.log"; echo "35-tsan: $s FAILED (log: $out/$s.log)"; fail=1; continue
    fi
    if grep -q "ThreadSanitizer" "$out/$s.log"; then
        grep -A30 "ThreadSanitizer" "$out/$s.log" | head -60; echo "35-tsan: $s: TSan report"; fail=1
        continue
    fi
    tail -1 "$out/$s.log"
done
exit $fail
