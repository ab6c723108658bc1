#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/size.sh - behind `make size`: what heapkit costs in flash (.text,
# with read-only data) and RAM (.data, .bss) on Cortex-M0 and Cortex-M4 at
# -Os, as Markdown tables, printed and written to docs/size.md.
#
# 1. The heap API as an application links it: ports/size/size_probe.c calls
#    the core (init, alloc, free, realloc) or every heap call, and is linked
#    with -ffunction-sections/--gc-sections against libheapkit.a built
#    TLSF-only (HK_ENABLE_FIRST_FIT=0, HK_ENABLE_BEST_FIT=0) or with all
#    three fit policies. Only sections from libheapkit.a (and the libgcc
#    helpers it pulls, counted separately) are summed, from the linker map.
# 2. Each component (src/<name>/*.c, all features) as object files: the
#    upper bound, before the linker drops unused functions.
# 3. The probe again for Xtensa LX106, linked without libgcc (no helpers).
# Configurations: the TLSF-only core, all three policies, a minimal one
# (init, alloc, free, calloc, stats on one region, TLSF only), and the size
# of every public heap call as linked (TLSF only, every call used), on
# Cortex-M4. Each of these API sets again with the code size options of
# include/heapkit/config.h (HK_HEAP_MINIMAL=1, TLSF only), and what each
# option saves on its own (Cortex-M4; those libraries hold only the heap's
# own sources: src/heap, src/common, src/debug).
# The README's code size table is rewritten from the same figures.
# Needs gcc-arm-none-eabi. Exit 77 (with the reason) if it is missing.
set -u
cd "$(dirname "$0")/.."
root=$PWD
out=$root/build/size
CC=arm-none-eabi-gcc
command -v $CC >/dev/null 2>&1 || {
    echo "size: $CC not found (apt-get install --no-install-recommends gcc-arm-none-eabi)"
    exit 77
}
rm -rf "$out"; mkdir -p "$out"
CFLAGS="-std=c11 -Os -ffreestanding -ffunction-sections -fdata-sections -I$root/include -I$root/src"

# portable sources: src/<component>/*.c, not the hosted ones or the malloc
mapfile -t sources < <(ls src/*/*.c | grep -v '^src/malloc/' | sort)
components=$(printf '%s\n' "${sources[@]}" | cut -d/ -f2 | sort -u)

# the sources the heap API can pull in (the option libraries below)
mapfile -t heap_sources < <(ls src/heap/*.c src/common/*.c src/debug/*.c | sort)

build_lib() {  # dir cpu extra-flags...   (HK_SRC=heap: the heap's sources only)
    local dir=$1 cpu=$2; shift 2
    mkdir -p "$dir"
    local objs=() f o list=("${sources[@]}")
    [ "${HK_SRC:-}" = heap ] && list=("${heap_sources[@]}")
    for f in "${list[@]}"; do
        o=$dir/$(echo "$f" | tr / _).o
        $CC -mcpu="$cpu" -mthumb $CFLAGS "$@" -c "$f" -o "$o" || return 1
        objs+=("$o")
    done
    rm -f "$dir/libheapkit.a"
    arm-none-eabi-ar rcs "$dir/libheapkit.a" "${objs[@]}"
}

# hex(): a "0x..." map-file size as a number (mawk has no strtonum); put in
# front of every awk program below that reads a map file.
AWK_HEX='
function hex(s,    i, c, v) {
    v = 0; s = tolower(substr(s, 3))
    for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
    return v
}'

# map_sizes MAPFILE PATTERN -> "text data bss" of the input sections whose
# file matches PATTERN (GNU ld map: name, address, size, file; a long name
# puts the rest on the next line).
map_sizes() {
    awk -v pat="$2" "$AWK_HEX"'
        /^Linker script and memory map/ { on = 1; next }
        !on { next }
        /^ \.[A-Za-z_]/ || /^ COMMON/ {
            name = $1
            if (NF >= 4) { size = $3; file = $4 } else { getline; size = $2; file = $3 }
            if (file !~ pat || size !~ /^0x/) next
            n = hex(size)
            if (name ~ /^\.(text|rodata)/) t += n
            else if (name ~ /^\.data/) d += n
            else if (name ~ /^\.bss/ || name == "COMMON") b += n
        }
        END { printf "%d %d %d\n", t, d, b }' "$1"
}

link_probe() {  # libdir cpu api -> prints "heapkit-text data bss libgcc-text"
    local dir=$1 cpu=$2 api=$3 elf=$1/probe$3.elf
    $CC -mcpu="$cpu" -mthumb $CFLAGS -DHK_SIZE_API="$api" ${4:-} \
        ports/size/size_probe.c ports/freestanding/hk_libc.c -nostdlib -Wl,-e,entry -Wl,--gc-sections \
        -Wl,-Map="$elf.map" "$dir/libheapkit.a" -lgcc -o "$elf" || return 1
    echo "$(map_sizes "$elf.map" 'libheapkit\.a') $(map_sizes "$elf.map" 'libgcc\.a' | cut -d' ' -f1)"
}

tlsf_only="-DHK_ENABLE_FIRST_FIT=0 -DHK_ENABLE_BEST_FIT=0"
lean="$tlsf_only -DHK_HEAP_MINIMAL=1"
declare -A R
for cpu in cortex-m0 cortex-m4; do
    build_lib "$out/$cpu-tlsf" $cpu $tlsf_only || exit 1
    build_lib "$out/$cpu-all" $cpu || exit 1
    HK_SRC=heap build_lib "$out/$cpu-lean" $cpu $lean || exit 1
    for api in 3 1 2; do
        R[$cpu,lean,$api]=$(link_probe "$out/$cpu-lean" $cpu $api "$lean") || exit 1
    done
    R[$cpu,tlsf,1]=$(link_probe "$out/$cpu-tlsf" $cpu 1 "$tlsf_only") || exit 1
    R[$cpu,tlsf,2]=$(link_probe "$out/$cpu-tlsf" $cpu 2 "$tlsf_only") || exit 1
    R[$cpu,tlsf,3]=$(link_probe "$out/$cpu-tlsf" $cpu 3 "$tlsf_only") || exit 1
    R[$cpu,all,1]=$(link_probe "$out/$cpu-all" $cpu 1) || exit 1
    R[$cpu,all,2]=$(link_probe "$out/$cpu-all" $cpu 2) || exit 1
done

# ---- what each code size option saves on its own (Cortex-M4, TLSF only) --
options="HK_HEAP_REGIONS=0 HK_HEAP_GROW=0 HK_MESSAGES=0 HK_HEAP_REPAIR=0 HK_HEAP_RESIZE_LEFT=0 HK_EVENTS=0"
declare -A O
for opt in $options; do
    d=$out/opt-${opt%%=*}
    HK_SRC=heap build_lib "$d" cortex-m4 $tlsf_only -D$opt || exit 1
    O[$opt,1]=$(link_probe "$d" cortex-m4 1 "$tlsf_only -D$opt" | cut -d' ' -f1) || exit 1
    O[$opt,3]=$(link_probe "$d" cortex-m4 3 "$tlsf_only -D$opt" | cut -d' ' -f1) || exit 1
done

# ---- Xtensa LX106 (the ESP8266's core) -----------------------------------
# The same probe, linked with -nostdlib and without libgcc: Debian's lx106
# libgcc has no division or 64-bit multiply helpers (the chip's ROM does),
# so the link itself proves the heap needs none. Also lists, per component,
# the helpers the whole library calls there (nm), which an LX106 image must
# bring (ports/freestanding/hk_libc.c, HK_LIBC_GCC_HELPERS).
XCC=xtensa-lx106-elf-gcc
declare -A X
xt_helpers=""
if command -v $XCC >/dev/null 2>&1; then
    xt_lib() {  # dir extra-flags...   (HK_SRC=heap: the heap's sources only)
        local dir=$1 f o; shift
        local objs=() list=("${sources[@]}")
        [ "${HK_SRC:-}" = heap ] && list=("${heap_sources[@]}")
        mkdir -p "$dir"
        for f in "${list[@]}"; do
            o=$dir/$(echo "$f" | tr / _).o
            $XCC -mtext-section-literals $CFLAGS "$@" -c "$f" -o "$o" || return 1
            objs+=("$o")
        done
        rm -f "$dir/libheapkit.a"
        xtensa-lx106-elf-ar rcs "$dir/libheapkit.a" "${objs[@]}"
    }
    xt_probe() {  # dir api extra-flags -> "text data bss", or "link failed: SYMBOLS"
        local dir=$1 api=$2 elf=$1/probe$2.elf
        if $XCC -mtext-section-literals $CFLAGS -DHK_SIZE_API="$api" ${3:-} ports/size/size_probe.c \
               ports/freestanding/hk_libc.c -nostdlib -Wl,-e,entry -Wl,--gc-sections \
               -Wl,-Map="$elf.map" "$dir/libheapkit.a" -o "$elf" 2>"$elf.err"; then
            map_sizes "$elf.map" 'libheapkit\.a'
        else
            echo "link failed: $(grep -o "undefined reference to \`[^']*" "$elf.err" |
                                 sed 's/.*`//' | sort -u | tr '\n' ' ')"
        fi
    }
    xt_lib "$out/lx106-tlsf" $tlsf_only || exit 1
    xt_lib "$out/lx106-all" || exit 1
    HK_SRC=heap xt_lib "$out/lx106-lean" $lean || exit 1
    X[lean,1]=$(xt_probe "$out/lx106-lean" 1 "$lean")
    X[lean,2]=$(xt_probe "$out/lx106-lean" 2 "$lean")
    X[tlsf,1]=$(xt_probe "$out/lx106-tlsf" 1 "$tlsf_only")
    X[tlsf,2]=$(xt_probe "$out/lx106-tlsf" 2 "$tlsf_only")
    X[all,1]=$(xt_probe "$out/lx106-all" 1)
    X[all,2]=$(xt_probe "$out/lx106-all" 2)
    for f in "$out"/lx106-all/src_*.o; do
        h=$(xtensa-lx106-elf-nm -u "$f" | awk '$2 ~ /^__(u?div|u?mod|mul)[sd]i3$|^__udivmoddi4$/ { print $2 }' |
            sort -u | tr '\n' ' ')
        [ -n "$h" ] && xt_helpers+="- \`${f##*/src_}\`: ${h% }"$'\n'
    done
    xt_helpers=$(printf '%s' "$xt_helpers" | sed 's/\.c\.o`/.c`/; s/^- `\([a-z]*\)_/- `src\/\1\//')
fi

{
echo "# heapkit code size"
echo
echo "Generated by \`make size\` (scripts/size.sh) with $($CC --version | head -1),"
echo "\`-Os -mthumb\`, \`-ffunction-sections -fdata-sections\`, linked with \`--gc-sections\`."
echo "text includes read-only data. libgcc is the compiler's helper code the heap pulls"
echo "in (ARMv6-M has no divide or count-leading-zeros instruction); it is shared with"
echo "the rest of a firmware and shown apart. memcpy/memmove/memset (the C library's, or"
echo "ports/freestanding/hk_libc.c without one) are not counted."
echo
echo "## The heap as linked into an application"
echo
echo "| configuration | API used | M0 text | M0 data | M0 bss | M0 libgcc | M4 text | M4 data | M4 bss | M4 libgcc |"
echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
cfg_name() {
    case $1 in
    tlsf) echo "TLSF only" ;;
    lean) echo "TLSF only, \`HK_HEAP_MINIMAL\`" ;;
    all)  echo "TLSF + first fit + best fit" ;;
    esac
}
for cfg in tlsf lean all; do
    for api in 3 1 2; do
        [ $cfg = all ] && [ $api = 3 ] && continue
        read -r t0 d0 b0 g0 <<<"${R[cortex-m0,$cfg,$api]}"
        read -r t4 d4 b4 g4 <<<"${R[cortex-m4,$cfg,$api]}"
        name=$(cfg_name $cfg)
        case $api in
        1) apin="core: init, alloc, free, realloc" ;;
        2) apin="every heap call" ;;
        3) apin="minimal: init, alloc, free, calloc, stats" ;;
        esac
        echo "| $name | $apin | $t0 | $d0 | $b0 | $g0 | $t4 | $d4 | $b4 | $g4 |"
    done
done
echo
largest() {  # map-file count: the biggest input sections from libheapkit.a
    awk "$AWK_HEX"'
    /^Linker script and memory map/ { on = 1; next }
    on && /^ \.(text|rodata)/ {
        name = $1
        if (NF >= 4) { size = $3; file = $4 } else { getline; size = $2; file = $3 }
        if (file ~ /libheapkit\.a/ && hex(size) > 0) {
            sub(/^\.(text|rodata)\./, "", name); sub(/.*\(src_/, "", file); sub(/\.o\)$/, "", file)
            sub(/_/, "/", file)
            printf "%d %s (%s)\n", hex(size), name, file
        }
    }' "$1" | sort -rn | head -"$2" | awk '{ printf "- %s: %s %s\n", $1, $2, $3 }'
}
echo "Largest functions of the TLSF-only core on Cortex-M4 (bytes), where to look first:"
echo
largest "$out/cortex-m4-tlsf/probe1.elf.map" 8
echo
echo "And of the minimal API with \`HK_HEAP_MINIMAL\` (Cortex-M4):"
echo
largest "$out/cortex-m4-lean/probe3.elf.map" 8
echo
echo "## The code size options"
echo
echo "\`HK_HEAP_MINIMAL=1\` (include/heapkit/config.h) sets every option below to its lean"
echo "value and also leaves out the list policies, the small-object front (already off on"
echo "32-bit targets) and the event hook. What each option saves on its own, TLSF only,"
echo "Cortex-M4 text in bytes (the full TLSF-only figure minus the figure with that option):"
echo
read -r core_full _ <<<"${R[cortex-m4,tlsf,1]}"
read -r min_full _ <<<"${R[cortex-m4,tlsf,3]}"
read -r core_lean _ <<<"${R[cortex-m4,lean,1]}"
read -r min_lean _ <<<"${R[cortex-m4,lean,3]}"
echo "| option | what it leaves out | core saves | minimal saves |"
echo "|---|---|--:|--:|"
for opt in $options; do
    case ${opt%%=*} in
    HK_HEAP_REGIONS) what="more regions than the first (add_region; region list walks in the checks); implies HK_HEAP_GROW=0" ;;
    HK_HEAP_GROW) what="the growth hook" ;;
    HK_MESSAGES) what="the sentences naming the likely cause (a short fixed reason per kind instead)" ;;
    HK_HEAP_REPAIR) what="rebuilding the free index after damage (damage is reported and refused)" ;;
    HK_HEAP_RESIZE_LEFT) what="realloc growing into a free left neighbour" ;;
    HK_EVENTS) what="the event hook" ;;
    esac
    echo "| \`$opt\` | $what | $((core_full - ${O[$opt,1]})) | $((min_full - ${O[$opt,3]})) |"
done
echo "| \`HK_HEAP_MINIMAL=1\` | all of the above | $((core_full - core_lean)) | $((min_full - min_lean)) |"
echo
echo "## Xtensa LX106 (ESP8266)"
echo
if [ ${#X[@]} -eq 0 ]; then
    echo "Not measured: $XCC not found (apt-get install --no-install-recommends gcc-xtensa-lx106)."
else
    echo "$($XCC --version | head -1), \`-Os -mtext-section-literals\`, the same flags and probe,"
    echo "linked with \`-nostdlib\` and **without libgcc**: a configuration that links needs no"
    echo "division or multiply helper (LX106 has no divider; Debian's libgcc for it leaves the"
    echo "helpers to the chip's ROM). Cortex-M text from the table above, for comparison."
    echo
    echo "| configuration | API used | LX106 text | LX106 data | LX106 bss | M0 text | M4 text |"
    echo "|---|---|--:|--:|--:|--:|--:|"
    for cfg in tlsf lean all; do
        for api in 1 2; do
            name=$(cfg_name $cfg)
            apin=$([ $api = 1 ] && echo "core: init, alloc, free, realloc" || echo "every heap call")
            read -r t0 _ <<<"${R[cortex-m0,$cfg,$api]}"
            read -r t4 _ <<<"${R[cortex-m4,$cfg,$api]}"
            case ${X[$cfg,$api]} in
            link*) echo "| $name | $apin | ${X[$cfg,$api]} | | | $t0 | $t4 |" ;;
            *) read -r xt xd xb <<<"${X[$cfg,$api]}"
               echo "| $name | $apin | $xt | $xd | $xb | $t0 | $t4 |" ;;
            esac
        done
    done
    echo
    if [ -n "$xt_helpers" ]; then
        echo "Division and multiply helpers the other components call on LX106 (an image that"
        echo "links them brings these, e.g. \`ports/freestanding/hk_libc.c\` with"
        echo "\`HK_LIBC_GCC_HELPERS\`):"
        echo
        echo "$xt_helpers"
    else
        echo "No component calls a division or multiply helper on LX106."
    fi
fi
echo
echo "## Every heap call (TLSF only, Cortex-M4, as linked)"
echo
echo "The bytes of each public function itself; the helpers they share (the"
echo "index, the guards, the checks) are counted once, under \"shared\"."
echo
calls() {  # map-file -> "name bytes" lines, sorted, and "~shared bytes"
    awk "$AWK_HEX"'
    /^Linker script and memory map/ { on = 1; next }
    on && /^ \.(text|rodata)/ {
        name = $1
        if (NF >= 4) { size = $3; file = $4 } else { getline; size = $2; file = $3 }
        if (file ~ /libheapkit\.a/ && hex(size) > 0) {
            sub(/^\.(text|rodata)\./, "", name); sub(/\.str1\.1$/, "", name)
            if (name ~ /^hk_heap_/) pub[name] += hex(size); else shared += hex(size)
        }
    }
    END {
        for (n in pub) printf "%s %d\n", n, pub[n]
        printf "~shared %d\n", shared
    }' "$1" | sort
}
echo "| function | M4 text | M4 text, \`HK_HEAP_MINIMAL\` |"
echo "|---|--:|--:|"
join -a1 -e - -o 0,1.2,2.2 <(calls "$out/cortex-m4-tlsf/probe2.elf.map") \
                           <(calls "$out/cortex-m4-lean/probe2.elf.map") |
    while read -r n a b; do
        [ "$n" = "~shared" ] && n="shared helpers" || n="\`$n\`"
        echo "| $n | $a | $b |"
    done
echo
echo "## Each component, all features, before the linker drops unused code"
echo
echo "| component | M0 text | M0 data | M0 bss | M4 text | M4 data | M4 bss |"
echo "|---|--:|--:|--:|--:|--:|--:|"
for c in $components; do
    row="| $c"
    for cpu in cortex-m0 cortex-m4; do
        row+=" | $(arm-none-eabi-size -t "$out/$cpu-all"/src_${c}_*.o | tail -1 |
                   awk '{ printf "%d | %d | %d", $1, $2, $3 }')"
    done
    echo "$row |"
done
} >"$out/size.md"

mkdir -p docs
cp "$out/size.md" docs/size.md

# The README's size table (the rows under its "| configuration | Cortex-M0
# text | Cortex-M4 text |" header), from the same figures.
readme_row() {  # label cfg api
    read -r t0 _ <<<"${R[cortex-m0,$2,$3]}"
    read -r t4 _ <<<"${R[cortex-m4,$2,$3]}"
    echo "| $1 | $t0 | $t4 |"
}
if [ -f README.md ] && grep -q '^| configuration | Cortex-M0 text | Cortex-M4 text |$' README.md; then
    rows=$(readme_row "TLSF only, minimal: init, alloc, free, calloc, stats" tlsf 3
           readme_row "TLSF only: init, alloc, free, realloc" tlsf 1
           readme_row "\`HK_HEAP_MINIMAL\`, minimal: init, alloc, free, calloc, stats" lean 3
           readme_row "\`HK_HEAP_MINIMAL\`: init, alloc, free, realloc" lean 1
           readme_row "all three policies: init, alloc, free, realloc" all 1
           readme_row "all three policies, every heap call" all 2)
    ROWS=$rows awk '
        /^\| configuration \| Cortex-M0 text \| Cortex-M4 text \|$/ { print; getline; print; print ENVIRON["ROWS"]; skip = 1; next }
        skip && /^\|/ { next }
        { skip = 0; print }' README.md >"$out/README.md" && cp "$out/README.md" README.md
fi
cat docs/size.md
echo
echo "written to docs/size.md"
