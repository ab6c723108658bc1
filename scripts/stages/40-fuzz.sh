#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/stages/40-fuzz.sh - build the libFuzzer harnesses in fuzz/ with
# clang -fsanitize=fuzzer,address,undefined and run each for a bounded time
# (HK_FUZZ_SECONDS, default 28: six targets, builds and merges stay within
# about 3.5 minutes) from its seed corpus in fuzz/corpus/<target>
# plus the growing corpus cache. Any crash, leak, sanitizer report or failed
# check fails the stage. Exit 77 (skip) when clang or libFuzzer is missing.
#
# The corpus that grows: a run writes the inputs it finds to a fresh
# build/fuzz/run/<target>, then merges those that reach new coverage into the
# cache, ${HK_FUZZ_CACHE:-build/fuzz-cache}/<target> (libFuzzer -merge=1), and
# the next run starts from seeds + cache. Keep (or let CI cache) that
# directory and every run starts where the last one stopped; the committed
# seeds stay a handful of small files. Crash inputs go to build/fuzz/crash-*.
#
# Speed: the heap library (src/common, src/heap, src/debug) is built with edge
# coverage but without comparison tracing (-fno-sanitize-coverage=trace-cmp):
# the debug layer's fill and poison loops compare every word with a constant,
# and tracing those compares cost four fifths of fuzz_heap_dbg's time while
# telling the fuzzer nothing it can steer. The harnesses and the small
# targets (pool, ring, the trace parser) keep full tracing.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/build/fuzz
cache=${HK_FUZZ_CACHE:-$root/build/fuzz-cache}
secs=${HK_FUZZ_SECONDS:-28}
CC=${HK_FUZZ_CC:-clang}

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "40-fuzz: $CC not found (apt-get install clang libclang-rt-14-dev)"; exit 77
fi
mkdir -p "$out" "$cache"
if ! echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}' \
     | "$CC" -x c -fsanitize=fuzzer -o "$out/probe" - 2>/dev/null; then
    echo "40-fuzz: $CC cannot link libFuzzer (apt-get install libclang-rt-14-dev)"; exit 77
fi

common=(-std=gnu11 -g -O1 -fno-sanitize-recover=all -fno-omit-frame-pointer -Wall -Wextra -Werror
        -Wno-unused-parameter -I"$root/include" -I"$root/src" -I"$root/tools/trace")
flags=("${common[@]}" -fsanitize=fuzzer,address,undefined)
libflags=("${common[@]}" -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-coverage=trace-cmp)
lib=("$root"/src/common/*.c "$root"/src/heap/*.c "$root"/src/debug/*.c)

# The heap library once per debug level: objects in build/fuzz/lib<level>/.
build_lib() {  # level
    local dir=$out/lib$1 f
    rm -rf "$dir"; mkdir -p "$dir"
    for f in "${lib[@]}"; do
        local o=$dir/$(basename "$(dirname "$f")")_$(basename "$f" .c).o
        "$CC" "${libflags[@]}" -DHK_DEBUG="$1" -c "$f" -o "$o" || return 1
    done
}
for level in 0 1; do
    if ! build_lib $level >"$out/lib$level.build.log" 2>&1; then
        cat "$out/lib$level.build.log"; echo "40-fuzz: build of the library (HK_DEBUG=$level) FAILED"
        exit 1
    fi
done

# target  debug-level  max-len  extra sources (0: libFuzzer's default length)
targets=(
  "heap      0 1024 "
  "heap_dbg  1 1024 "
  "config    1 0 "
  "pool      0 0 $root/src/pool/pool.c"
  "ring      0 0 $root/src/ring/ring.c"
  "trace     0 0 $root/tools/trace/hk_trace.c"
)

fail=0
for t in "${targets[@]}"; do
    read -r name level maxlen extra <<<"$t"
    src=$root/fuzz/fuzz_${name%_dbg}.c
    echo "--- fuzz_$name (HK_DEBUG=$level, ${secs}s)"
    if ! "$CC" "${flags[@]}" -DHK_DEBUG="$level" -o "$out/fuzz_$name" "$src" "$out/lib$level"/*.o $extra \
         >"$out/fuzz_$name.build.log" 2>&1; then
        cat "$out/fuzz_$name.build.log"; echo "40-fuzz: build of fuzz_$name FAILED"; fail=1; continue
    fi
    run=$out/run/$name
    rm -rf "$run"; mkdir -p "$run" "$cache/$name"
    seeds=$root/fuzz/corpus/${name%_dbg}
    len=(); [ "$maxlen" != 0 ] && len=(-max_len="$maxlen")
    if ! "$out/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 "${len[@]}" \
         -artifact_prefix="$out/crash-$name-" -print_final_stats=1 \
         "$run" "$cache/$name" "$seeds" >"$out/fuzz_$name.log" 2>&1; then
        tail -40 "$out/fuzz_$name.log"; echo "40-fuzz: fuzz_$name FAILED (log: $out/fuzz_$name.log)"
        fail=1; continue
    fi
    before=$(find "$cache/$name" -type f | wc -l)
    if ! "$out/fuzz_$name" -merge=1 -timeout=10 -rss_limit_mb=1024 "${len[@]}" \
         "$cache/$name" "$run" >"$out/fuzz_$name.merge.log" 2>&1; then
        tail -20 "$out/fuzz_$name.merge.log"; echo "40-fuzz: merge of fuzz_$name FAILED"; fail=1; continue
    fi
    after=$(find "$cache/$name" -type f | wc -l)
    units=$(grep -o "stat::number_of_executed_units: *[0-9]*" "$out/fuzz_$name.log" | grep -o "[0-9]*$")
    echo "executions ${units:-?} ($(( ${units:-0} / secs ))/s) $(grep -o "cov: [0-9]*" "$out/fuzz_$name.log" | tail -1)," \
         "cache $before -> $after inputs"
done
exit $fail
