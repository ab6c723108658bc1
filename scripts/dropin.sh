#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/dropin.sh - the files to copy into a firmware tree, in a layout
# that builds with nothing but -I<out>/include:
#
#   scripts/dropin.sh OUT [COMPONENT...]     (default: common heap debug)
#
#   OUT/include/heapkit/...   the public headers (all of them)
#   OUT/heapkit/*.c, *.h      the sources of the components asked for and
#                             their private headers, in one folder, with
#                             their internal #includes rewritten to siblings
#
# Build: cc -I OUT/include -c OUT/heapkit/*.c (every file, in any build
# system), link with memcpy, memmove and memset from the C library or your
# own, and with libgcc (GCC links it by default; on Cortex-M0 and RISC-V
# without Zbb it supplies the divide and count-leading/trailing-zero
# helpers). Components: common heap debug pool slab tiered ring chain
# stack pages vm print (print is in common); tiered, slab, chain and vm_kheap
# need heap.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: scripts/dropin.sh OUT [COMPONENT...]}
shift
comps=("$@")
[ ${#comps[@]} -gt 0 ] || comps=(common heap debug)
# every component needs common; heap needs debug (the hooks)
want=" common ${comps[*]} "
case $want in *" heap "*) want+=" debug " ;; esac
rm -rf "$out/include/heapkit" "$out/heapkit"
mkdir -p "$out/include" "$out/heapkit"
cp -R "$root/include/heapkit" "$out/include/"
dirs=$(ls "$root/src")
n=0
for c in $want; do
    [ -d "$root/src/$c" ] || { echo "dropin: no component '$c' (src/$c)" >&2; exit 2; }
    for f in "$root/src/$c"/*.c "$root/src/$c"/*.h; do
        [ -e "$f" ] || continue
        b=$(basename "$f")
        [ -e "$out/heapkit/$b" ] && continue
        # "<component>/<file>.h" -> "<file>.h" (the headers sit side by side)
        sed -E "s@#include \"($(echo $dirs | tr ' ' '|'))/([A-Za-z0-9_]+\.h)\"@#include \"\2\"@" \
            "$f" >"$out/heapkit/$b"
        n=$((n + 1))
    done
done
# private headers a copied file includes from another component
for i in 1 2 3; do
    for inc in $(grep -ho '#include "[A-Za-z0-9_]*\.h"' "$out/heapkit"/* | sed 's/.*"\(.*\)"/\1/' | sort -u); do
        [ -e "$out/heapkit/$inc" ] && continue
        src=$(ls "$root"/src/*/"$inc" 2>/dev/null | head -1)
        [ -n "$src" ] || continue
        sed -E "s@#include \"($(echo $dirs | tr ' ' '|'))/([A-Za-z0-9_]+\.h)\"@#include \"\2\"@" \
            "$src" >"$out/heapkit/$inc"
        n=$((n + 1))
    done
done
echo "dropin: $n files in $out/heapkit, headers in $out/include; build with -I$out/include"
