#!/usr/bin/env bash
# scripts/stages/40-fuzz.sh - build the libFuzzer harnesses in fuzz/ with
# clang -fsanitize=fuzzer,address,undefined and run each for a bounded time
# (HK_FUZZ_SECONDS, default 30) from its seed corpus in fuzz/corpus/<target>.
# New inputs go to build/fuzz/corpus/<target>, crash inputs to
# build/fuzz/crash-*; any crash, leak, sanitizer report or failed check
# fails the stage. Exit 77 (skip) when clang or libFuzzer is missing.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/build/fuzz
secs=${HK_FUZZ_SECONDS:-30}
CC=${HK_FUZZ_CC:-clang}

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "40-fuzz: $CC not found (apt-get install clang libclang-rt-14-dev)"; exit 77
fi
mkdir -p "$out"
if ! echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}' \
     | "$CC" -x c -fsanitize=fuzzer -o "$out/probe" - 2>/dev/null; then
    echo "40-fuzz: $CC cannot link libFuzzer (apt-get install libclang-rt-14-dev)"; exit 77
fi

flags=(-std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -fno-omit-frame-pointer -Wall -Wextra -Werror -Wno-unused-parameter
       -I"$root/include" -I"$root/src" -I"$root/tools/trace")
lib=("$root"/src/common/*.c "$root"/src/heap/*.c "$root"/src/debug/*.c)

# target  debug-level  extra sources
targets=(
  "heap      0 "
  "heap_dbg  1 "
  "config    1 "
  "pool      0 $root/src/pool/pool.c"
  "ring      0 $root/src/ring/ring.c"
  "trace     0 $root/tools/trace/hk_trace.c"
)

fail=0
for t in "${targets[@]}"; do
    read -r name level extra <<<"$t"
    src=$root/fuzz/fuzz_${name%_dbg}.c
    echo "--- fuzz_$name (HK_DEBUG=$level, ${secs}s)"
    if ! "$CC" "${flags[@]}" -DHK_DEBUG="$level" -o "$out/fuzz_$name" "$src" "${lib[@]}" $extra \
         >"$out/fuzz_$name.build.log" 2>&1; then
        cat "$out/fuzz_$name.build.log"; echo "40-fuzz: build of fuzz_$name FAILED"; fail=1; continue
    fi
    mkdir -p "$out/corpus/$name"
    seeds=$root/fuzz/corpus/${name%_dbg}
    if ! "$out/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
         -artifact_prefix="$out/crash-$name-" -print_final_stats=1 \
         "$out/corpus/$name" "$seeds" >"$out/fuzz_$name.log" 2>&1; then
        tail -40 "$out/fuzz_$name.log"; echo "40-fuzz: fuzz_$name FAILED (log: $out/fuzz_$name.log)"
        fail=1; continue
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/fuzz_$name.log" | tr '\n' ' '
    grep -o "cov: [0-9]*" "$out/fuzz_$name.log" | tail -1
done
exit $fail
