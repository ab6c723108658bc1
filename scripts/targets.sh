#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/targets.sh - builds heapkit and every portable test suite for each
# target and runs them there (QEMU for the foreign ones), so every part of
# heapkit is tested on the instruction sets its users ship.
#
#   scripts/targets.sh                 every target
#   scripts/targets.sh cortex-m0 s390x-be   just these
#   scripts/targets.sh --list          the targets and what each needs
#
# Per target: (1) the port self-test (ports/selftest): a pass, a failed check
# and a trap must reach the exit status as 0, 1 and a fault status; (2) the
# library and tests/*.c (plus tests/linux/*.c where there is an OS) built with
# cmake/toolchains/<target>.cmake in build/targets/<target>, run with ctest.
# A target whose toolchain or emulator is missing is skipped with the reason
# and the Debian packages that provide it; with CI=true a skip is a failure.
# Prints one line per target with build and run times, then
# "N passed, N failed" (and the skips); exit status 1 on any failure, 77 when
# no target could run at all (outside CI), else 0.
#
# Environment: HK_TARGET_JOBS targets built and run at once (default 2, each
# building with one job: the machine has 2 cores); HK_TARGET_TIMEOUT seconds
# per QEMU run (default 300).
set -u
cd "$(dirname "$0")/.."
root=$PWD
out=$root/build/targets
mkdir -p "$out"

all_targets=(x86-32 cortex-m0 cortex-m3 cortex-m4f riscv32 riscv64 mips-be s390x-be)

# Targets with a build of their own (kernels, MPU images, other cores) live in
# scripts/targets.d/<name>.sh, one file each, called as
#   <name>.sh describe            one line: what the target is
#   <name>.sh packages            the Debian packages it needs
#   <name>.sh missing             why it cannot run here, or nothing
#   <name>.sh run DIR LOG         build in DIR and run, appending to LOG;
#                                 exit 0 when every check passed; the last
#                                 line printed on stdout is the summary
for f in "$root"/scripts/targets.d/*.sh; do
    [ -e "$f" ] && all_targets+=("$(basename "$f" .sh)")
done
own() { [ -f "$root/scripts/targets.d/$1.sh" ]; }

describe() {  # target -> one line: what it is
    own "$1" && { bash "$root/scripts/targets.d/$1.sh" describe; return; }
    case $1 in
    x86-32)     echo "x86 32-bit Linux, native (gcc -m32)" ;;
    cortex-m0)  echo "ARMv6-M, qemu-system-arm -M microbit, no libc, unaligned access faults" ;;
    cortex-m3)  echo "ARMv7-M, qemu-system-arm -M mps2-an385, no libc, CCR.UNALIGN_TRP on" ;;
    cortex-m4f) echo "ARMv7E-M + FPU, qemu-system-arm -M mps2-an386, newlib malloc = heapkit" ;;
    riscv32)    echo "RV32IMAC, qemu-system-riscv32 -M virt -bios none, no libc" ;;
    riscv64)    echo "RV64IMAC, qemu-system-riscv64 -M virt -bios none, no libc" ;;
    mips-be)    echo "MIPS32 big-endian Linux, qemu-mips, static (clang)" ;;
    s390x-be)   echo "s390x big-endian 64-bit Linux, qemu-s390x, static (clang)" ;;
    esac
}

packages() {  # target -> Debian packages that provide its toolchain
    own "$1" && { bash "$root/scripts/targets.d/$1.sh" packages; return; }
    case $1 in
    x86-32)         echo "gcc-multilib" ;;
    cortex-m0|cortex-m3) echo "gcc-arm-none-eabi qemu-system-arm" ;;
    cortex-m4f)     echo "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm" ;;
    riscv32|riscv64) echo "gcc-riscv64-unknown-elf qemu-system-misc" ;;
    mips-be)        echo "clang qemu-user binutils-mips-linux-gnu libc6-dev-mips-cross libgcc-12-dev-mips-cross" ;;
    s390x-be)       echo "clang qemu-user binutils-s390x-linux-gnu libc6-dev-s390x-cross libgcc-12-dev-s390x-cross" ;;
    esac
}

# missing TARGET -> prints why the target cannot be built/run here, or nothing
missing() {
    local t=$1 probe=$out/.probe-$1 cmd
    local -a cmds=()
    own "$t" && { bash "$root/scripts/targets.d/$t.sh" missing; return; }
    case $t in
    x86-32)     cmds=(gcc) ;;
    cortex-m*)  cmds=(arm-none-eabi-gcc qemu-system-arm) ;;
    riscv32)    cmds=(riscv64-unknown-elf-gcc qemu-system-riscv32) ;;
    riscv64)    cmds=(riscv64-unknown-elf-gcc qemu-system-riscv64) ;;
    mips-be)    cmds=(clang qemu-mips) ;;
    s390x-be)   cmds=(clang qemu-s390x) ;;
    esac
    for cmd in "${cmds[@]}" cmake; do
        command -v "$cmd" >/dev/null 2>&1 || { echo "$cmd not found"; return; }
    done
    # the compiler must also link for the target (libraries, multilibs)
    printf 'int main(void){return 0;}\n' >"$probe.c"
    case $t in
    x86-32)   gcc -m32 "$probe.c" -o "$probe" 2>/dev/null || echo "gcc -m32 cannot link" ;;
    cortex-m4f) arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard \
                  --specs=nano.specs -c "$probe.c" -o "$probe.o" 2>/dev/null \
                && [ -f "$(arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 \
                       -mfloat-abi=hard --specs=nano.specs -print-file-name=librdimon_nano.a)" ] \
                || echo "newlib-nano for arm-none-eabi not installed" ;;
    mips-be)  clang --target=mips-linux-gnu --sysroot=/usr/mips-linux-gnu -static "$probe.c" \
                -o "$probe" 2>/dev/null || echo "clang cannot link for mips-linux-gnu" ;;
    s390x-be) clang --target=s390x-linux-gnu --sysroot=/usr/s390x-linux-gnu -static "$probe.c" \
                -o "$probe" 2>/dev/null || echo "clang cannot link for s390x-linux-gnu" ;;
    esac
    rm -f "$probe" "$probe.c" "$probe.o"
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# run_target TARGET: writes $out/TARGET.result (one line) and TARGET.log
run_target() {
    local t=$1 dir=$out/$1 log=$out/$1.log tc=$root/cmake/toolchains/$1.cmake
    local t0 t1 t2 status="ok" detail=""
    local -a extra=()
    if own "$t"; then
        : >"$log"
        mkdir -p "$dir"
        t0=$(now)
        local summary rc=0
        summary=$(bash "$root/scripts/targets.d/$t.sh" run "$dir" "$log" 2>>"$log") || rc=$?
        summary=$(printf '%s\n' "$summary" | tail -1)
        t1=$(now)
        [ $rc -eq 0 ] || { status=FAILED; detail=" (rc=$rc, see ${log#$root/})"; }
        printf '%s|%-14s %-7s total %5ss  %s%s\n' "$status" "$t" "$status" "$(secs "$t0" "$t1")" \
            "$summary" "$detail" >"$out/$t.result"
        return
    fi
    case $t in
    # Linux targets: the portable suites through host_main.c. The hosted-only
    # parts (tests/linux, src/malloc, tools) are covered by scripts/test.sh's
    # host and -m32 builds; building them for qemu-user needs a CMake switch
    # that leaves out the preload malloc and the tools (docs/targets.md).
    x86-32|mips-be|s390x-be)
        extra=(-DHK_HOSTED=OFF -DHK_TARGET_MAIN="$root/tests/harness/host_main.c") ;;
    esac
    : >"$log"
    t0=$(now)
    # fresh configuration (the toolchain file may have changed) and a fresh
    # link (CMake does not know the images depend on the linker scripts)
    rm -f "$dir/CMakeCache.txt" "$dir/selftest/CMakeCache.txt" "$dir/hk_tests" \
          "$dir"/selftest/selftest_*
    if ! cmake -S "$root/ports/selftest" -B "$dir/selftest" -DCMAKE_TOOLCHAIN_FILE="$tc" \
           >>"$log" 2>&1 ||
       ! cmake --build "$dir/selftest" -j 1 >>"$log" 2>&1 ||
       ! cmake -S "$root" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$tc" \
           -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHK_INTERNAL_ASSERTS=ON "${extra[@]}" >>"$log" 2>&1 ||
       ! cmake --build "$dir" -j 1 >>"$log" 2>&1; then
        t1=$(now)
        printf 'FAILED|%-11s FAILED  build %5ss             (build failed, see %s)\n' \
            "$t" "$(secs "$t0" "$t1")" "${log#$root/}" >"$out/$t.result"
        return
    fi
    t1=$(now)
    export HK_QEMU_TIMEOUT=${HK_TARGET_TIMEOUT:-300}
    echo "=== selftest" >>"$log"
    local st_ok=1 st_n
    (cd "$dir/selftest" && ctest --output-on-failure) >>"$log" 2>&1 || st_ok=0
    st_n=$(grep -c 'Test *#' "$log")
    echo "=== suites" >>"$log"
    local rc=0
    (cd "$dir" && ctest --output-on-failure -V --timeout 400) >>"$log" 2>&1 || rc=1
    t2=$(now)
    local counts
    counts=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$log" |
             awk '{ p += $1; f += $3 } END { printf "%d checks passed, %d failed", p, f }')
    if [ $st_ok -eq 0 ]; then
        status=FAILED; detail="port self-test failed (results would not reach the exit status); "
    fi
    if [ $rc -ne 0 ]; then
        status=FAILED
        detail+="see ${log#$root/}"
    fi
    printf '%s|%-11s %-7s build %5ss  run %5ss  self-test %s, %s %s\n' "$status" "$t" "$status" \
        "$(secs "$t0" "$t1")" "$(secs "$t1" "$t2")" "$([ $st_ok -eq 1 ] && echo "ok ($st_n)" || echo FAILED)" \
        "$counts" "$detail" >"$out/$t.result"
}

# where_fault TARGET: for a bare-metal fault or trap, the source lines of
# the faulting pc and of the return address (addr2line on the image).
where_fault() {
    local t=$1 line a2l pc lr
    line=$(grep -E '^[0-9]+: (FAULT|TRAP)' "$out/$t.log" | head -1)
    [ -n "$line" ] || return 0
    case $t in
    cortex-m*) a2l=arm-none-eabi-addr2line
               pc=$(echo "$line" | sed -n 's/.* pc=\([0-9a-f]*\).*/\1/p')
               lr=$(echo "$line" | sed -n 's/.* lr=\([0-9a-f]*\).*/\1/p') ;;
    riscv*)    a2l=riscv64-unknown-elf-addr2line
               pc=$(echo "$line" | sed -n 's/.* mepc=\([0-9a-f]*\).*/\1/p'); lr= ;;
    *) return 0 ;;
    esac
    command -v $a2l >/dev/null || return 0
    [ -n "$pc" ] && echo "            fault at:    $($a2l -f -p -e "$out/$t/hk_tests" "0x$pc")"
    [ -n "$lr" ] && echo "            called from: $($a2l -f -p -e "$out/$t/hk_tests" "0x$lr")"
    return 0
}

if [ "${1:-}" = --list ]; then
    for t in "${all_targets[@]}"; do
        printf '%-11s %s\n            packages: %s\n' "$t" "$(describe "$t")" "$(packages "$t")"
    done
    exit 0
fi

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    [ -f "$root/cmake/toolchains/$t.cmake" ] || own "$t" || { echo "unknown target: $t (try --list)"; exit 2; }
done

jobs=${HK_TARGET_JOBS:-2}
pass=0; fail=0; skip=0
skipped=()
runnable=()
for t in "${targets[@]}"; do
    why=$(missing "$t")
    if [ -n "$why" ]; then
        skipped+=("$(printf '%-11s skipped: %s (apt-get install --no-install-recommends %s)' \
                    "$t" "$why" "$(packages "$t")")")
    else
        runnable+=("$t")
        rm -f "$out/$t.result"
    fi
done

echo "=== targets: ${runnable[*]:-none} ($jobs at a time)"
T0=$(now)
running=0
for t in "${runnable[@]}"; do
    # progress: a line when a target starts and one when it ends
    echo "--- $t: started at $(secs "$T0" "$(now)")s"
    { run_target "$t"; r=$(cat "$out/$t.result" 2>/dev/null || echo "FAILED|$t no result")
      echo "--- ${r#*|}"; } &
    running=$((running + 1))
    if [ $running -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

echo
for t in "${runnable[@]}"; do
    line=$(cat "$out/$t.result" 2>/dev/null || echo "FAILED|$t FAILED (no result)")
    echo "${line#*|}"
    case $line in
    ok\|*) pass=$((pass + 1)) ;;
    *) fail=$((fail + 1))
       # show the failing lines of the log
       grep -E '^[0-9]+: (FAIL|FAULT|TRAP|selftest|exit status|qemu: uncaught)|error:' "$out/$t.log" | head -8 |
           sed 's/^/            /'
       where_fault "$t" ;;
    esac
done
for s in "${skipped[@]}"; do
    echo "$s"
    skip=$((skip + 1))
done
if [ "${CI:-}" = true ] && [ $skip -gt 0 ]; then
    echo "CI=true: $skip skipped target(s) count as failures"
    fail=$((fail + skip))
fi
echo "total $(secs "$T0" "$(now)")s"
echo "$pass passed, $fail failed$([ $skip -gt 0 ] && echo ", $skip skipped")"
[ $fail -eq 0 ] || exit 1
[ ${#runnable[@]} -gt 0 ] || exit 77   # nothing could run here (not CI)
exit 0
