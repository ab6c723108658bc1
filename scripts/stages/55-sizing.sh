#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/stages/55-sizing.sh - the heap sizing loop, end to end: record a
# firmware's allocations on a Cortex-M4 under QEMU, size its heap on the host,
# and prove the advice on the target.
#   1. build hk-size and hk-trace-conv, and the Cortex-M4 image ports/sizing
#      (heapkit + the recorder, no C library) for qemu-system-arm -M mps2-an386;
#   2. run the image in record mode: five tasks exchanging 12 B - 4 KiB
#      messages; a small ring drained over semihosting to a log, and a large
#      ring written raw at the end as a debugger's memory dump would be;
#   3. convert both (they must give the same trace, with nothing lost), and
#      check that a log that lost events is refused;
#   4. hk-size on the trace (table, JSON, SVG; every size below the smallest
#      tried, the recommendation proven by a trial); then, for every policy, on
#      the target: the recommended size and the smallest size must run every
#      request, the smallest size minus one granule (HK_ALIGN = 8) must fail.
# Exit 0 pass, 77 skipped (prints why), anything else fail.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
build=$root/build/stage-sizing
img=$build/image
out=$build/out
t_start=$SECONDS

for tool in cmake arm-none-eabi-gcc qemu-system-arm python3; do
    command -v $tool >/dev/null || { echo "55-sizing: skipped: $tool not installed"; exit 77; }
done
if ! echo 'int main(void){return 0;}' | gcc -m32 -x c -o /dev/null - 2>/dev/null; then
    echo "55-sizing: skipped: gcc -m32 cannot link (apt-get install gcc-multilib)"; exit 77
fi

mkdir -p "$build" "$img"
rm -rf "$out"; mkdir -p "$out"
# The tools: from make test's release build when it is there (an incremental
# build, usually nothing to do), else a build of their own.
tools_build=$build/tools-build
if [ -f "$root/build/release/CMakeCache.txt" ]; then
    tools_build=$root/build/release
else
    nice -n 10 cmake -S "$root" -B "$tools_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DHK_BUILD_TESTS=OFF >"$build/tools.log" 2>&1 ||
        { tail -30 "$build/tools.log"; echo "55-sizing: FAILED to configure the tools"; exit 1; }
fi
echo "55-sizing: building the tools in $tools_build"
if ! nice -n 10 cmake --build "$tools_build" -j2 --target hk-size hk-trace-conv \
        >>"$build/tools.log" 2>&1; then
    tail -30 "$build/tools.log"; echo "55-sizing: FAILED to build the tools"; exit 1
fi
bin=$tools_build/tools

echo "55-sizing: building the Cortex-M4 image"
arch=(-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard)
cflags=(-std=c11 -O2 -g -ffreestanding -ffunction-sections -fdata-sections
        -Wall -Wextra -Wconversion -Wsign-conversion -Wcast-align -Wshadow -Wstrict-prototypes
        -Wmissing-prototypes -Wundef -Werror -DHK_PORT_BARE_METAL=1
        -I"$root/include" -I"$root/src" -I"$root/ports/cortexm")
if ! arm-none-eabi-gcc "${arch[@]}" "${cflags[@]}" -DHK_PORT_SELFTEST=0 \
        -c "$root/ports/cortexm/main.c" -o "$img/console.o" >"$img/build.log" 2>&1 ||
   ! arm-none-eabi-gcc "${arch[@]}" "${cflags[@]}" "$root/ports/sizing/main.c" \
        "$root/ports/cortexm/startup.c" "$root/ports/freestanding/hk_libc.c" \
        "$root"/src/heap/*.c "$root"/src/common/*.c "$root/src/rec/rec.c" "$img/console.o" \
        -T "$root/ports/cortexm/link.ld" -nostdlib -Wl,--gc-sections \
        -Wl,--defsym=__flash_size=4M -Wl,--defsym=__ram_size=4M -Wl,--defsym=__stack_size=16K \
        -lgcc -o "$img/sizing.elf" >>"$img/build.log" 2>&1; then
    cat "$img/build.log"; echo "55-sizing: FAILED to build the image"; exit 1
fi

# target ARGS... : runs the image with a semihosting command line; prints its
# first line, returns its exit status
target() {
    local a="arg=sizing" x
    for x in "$@"; do a+=",arg=$x"; done
    timeout 120 qemu-system-arm -M mps2-an386 -display none -monitor none -serial none \
        -semihosting-config "enable=on,target=native,$a" -kernel "$img/sizing.elf" </dev/null |
        head -1
    return "${PIPESTATUS[0]}"
}

fail=0
step() {  # name command...
    local name=$1; shift
    local t0=$SECONDS
    if "$@" >"$out/$name.log" 2>&1; then
        echo "  ok    $name ($((SECONDS-t0))s)"
    else
        echo "  FAIL  $name"; sed 's/^/        /' "$out/$name.log" | tail -25; fail=1
    fi
}

record() {
    target record "$out/fw.log" "$out/fw.dump" || return 1
    "$bin/hk-trace-conv" "$out/fw.log" "$out/fw.rep" || return 1
    "$bin/hk-trace-conv" "$out/fw.dump" "$out/fw-dump.rep" || return 1
    cmp "$out/fw.rep" "$out/fw-dump.rep" || return 1   # the drained log and the dump agree
    [ "$(sed -n 3p "$out/fw.rep")" -gt 1000 ]           # a real workload was recorded
}
step record-and-convert record

# a log whose target lost events converts with a warning and exit status 1
lost_log() {
    python3 - "$out/fw.log" "$out/lost.log" <<'EOF' || return 1
import struct, sys
data = bytearray(open(sys.argv[1], 'rb').read())
recs = [data[i:i + 16] for i in range(0, len(data), 16)]
# drop one event record after the first marker: a sequence gap
idx = next(i for i, r in enumerate(recs) if i > 0 and r[12] != 6)
del recs[idx]
# and the last marker says 3 events were lost
last = max(i for i, r in enumerate(recs) if r[12] == 6)
recs[last][8:12] = struct.pack('<I', 3)
open(sys.argv[2], 'wb').write(b''.join(recs))
EOF
    local rc=0
    "$bin/hk-trace-conv" "$out/lost.log" "$out/lost.rep" 2>"$out/lost.err" || rc=$?
    cat "$out/lost.err"
    [ $rc -eq 1 ] && grep -q "3 events lost" "$out/lost.err" && grep -q "1 sequence gaps" "$out/lost.err" &&
        grep -q "INCOMPLETE" "$out/lost.err"
}
step lost-events-refused lost_log

# the same log and dump from a big-endian target convert to the same trace
big_endian() {
    python3 - "$out" <<'EOF' || return 1
import struct, sys
d = sys.argv[1]
def swap_recs(b):
    out = bytearray()
    for i in range(0, len(b), 16):
        st, p, sz, op, al, sq = struct.unpack('<IIIBBH', b[i:i + 16])
        out += struct.pack('>IIIBBH', st, p, sz, op, al, sq)
    return out
log = open(d + '/fw.log', 'rb').read()
open(d + '/fw-be.log', 'wb').write(swap_recs(log))
dump = open(d + '/fw.dump', 'rb').read()
hdr = struct.unpack_from('<H', dump, 4)[0]
head = bytearray(dump[:hdr])
w = struct.unpack_from('<IHHIIIIII', head, 0)
struct.pack_into('>IHHIIIIII', head, 0, *w)  # the 32-bit fields; the pointers after them stay
open(d + '/fw-be.dump', 'wb').write(head + swap_recs(dump[hdr:]))
EOF
    "$bin/hk-trace-conv" "$out/fw-be.log" "$out/fw-be.rep" && cmp "$out/fw.rep" "$out/fw-be.rep" &&
        "$bin/hk-trace-conv" "$out/fw-be.dump" "$out/fw-be2.rep" && cmp "$out/fw.rep" "$out/fw-be2.rep"
}
step big-endian-logs big_endian

advise() {
    "$bin/hk-size" "$out/fw.rep" --svg "$out/fw-size.svg" --json-file "$out/advice.json" \
        >"$out/advice.txt" || return 1
    cat "$out/advice.txt"
    python3 - "$out/advice.json" <<'EOF' || return 1
import json, sys
r = json.load(open(sys.argv[1]))
bad = [x for x in r["results"] if not (x["ok"] and x["exact"] and x["smallest_minus_granule_fails"]
                                       and x["recommended"] >= x["smallest"] + x["margin"])]
assert r["recommendation"]["bytes"] > r["peak_live"], r["recommendation"]
assert not bad, bad
EOF
    # the plain lines: exactly one per policy, first in the advice
    head -3 "$out/advice.txt" >"$out/plain.txt"
    [ "$(grep -cE '^(tlsf|first|best) smallest=[0-9]+ recommended=[0-9]+$' "$out/plain.txt")" -eq 3 ] ||
        return 1
    grep -q '^recommendation: use a ' "$out/advice.txt" || return 1
    grep -q '<svg' "$out/fw-size.svg" && grep -q 'each row is' "$out/fw-size.svg" || return 1
    # --plain prints those lines only
    printf '0\n2\n4\n1\na 0 100\na 1 2000\nf 0\nf 1\n' >"$out/tiny.rep"
    "$bin/hk-size" --plain "$out/tiny.rep" >"$out/tiny.txt" || return 1
    [ "$(grep -cE '^(tlsf|first|best) smallest=[0-9]+ recommended=[0-9]+$' "$out/tiny.txt")" -eq 3 ] &&
        [ "$(wc -l <"$out/tiny.txt")" -eq 3 ]
}
step advise advise

# the advice holds on the target, policy by policy
prove() {
    local p s r ok=0 line
    while read -r p s r; do
        s=${s#smallest=}; r=${r#recommended=}
        [ "$r" -ge "$s" ] || { echo "$p: recommended $r below smallest $s"; return 1; }
        line=$(target run "$p" "$r") || { echo "FAIL $line"; ok=1; continue; }
        echo "$line"
        line=$(target run "$p" "$s") || { echo "FAIL $line"; ok=1; continue; }
        echo "$line"
        local rc=0
        line=$(target run "$p" $((s - 8))) || rc=$?
        echo "$line"
        [ $rc -eq 3 ] || { echo "FAIL: $p in $((s - 8)) bytes should have failed (rc $rc)"; ok=1; }
    done <"$out/plain.txt"
    return $ok
}
step target-confirms prove

echo "55-sizing: the advice for the test image ($out/advice.txt):"
sed 's/^/    /' "$out/advice.txt"
[ $fail -eq 0 ] && echo "55-sizing: all passed ($((SECONDS - t_start))s)" ||
    echo "55-sizing: FAILED ($((SECONDS - t_start))s)"
exit $fail
