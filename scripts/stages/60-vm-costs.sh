#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 60-vm-costs.sh - `make test` stage for pages and virtual memory (issue 8):
# builds the vm examples, runs them, and measures with callgrind
#   - hk_pages_alloc / hk_pages_free: instructions per call (pages_bench:
#     1 GiB of 4 KiB frames, 4096 live blocks of orders 0..3 churned), with a
#     regression bound;
#   - the hosted demand fault: user-space instructions per fault
#     (hk_vm_fault + page allocator + the mmap call, called as the SIGSEGV
#     handler calls it; without the 4 KiB zeroing, which valgrind counts per
#     byte of `rep stosb`), and the time ratio of a real heapkit demand fault
#     (signal included) to the kernel's own anonymous fault.
# Exit 0 pass, 77 when valgrind is missing (printed), 1 on failure.
set -u
cd "$(dirname "$0")/../.."
root=$PWD
b=$root/build/stage-vm
mkdir -p "$b"
command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null || {
    echo "60-vm-costs: valgrind not installed (apt-get install valgrind)"; exit 77; }
if ! cmake -S "$root" -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHK_BUILD_TESTS=OFF >"$b.log" 2>&1 ||
   ! cmake --build "$b" -j2 --target heapkit heapkit_linux >>"$b.log" 2>&1; then
    tail -30 "$b.log"; echo "60-vm-costs: library build failed"; exit 1
fi
for e in pages_bench vm_fault_cost vm_demo; do
    cc -std=c11 -O2 -g -Wall -Wextra -Werror -I"$root/include" "$root/examples/$e.c" \
       "$b/libheapkit_linux.a" "$b/libheapkit.a" -o "$b/$e" || { echo "60-vm-costs: $e build failed"; exit 1; }
done
"$b/vm_demo" || { echo "60-vm-costs: vm_demo failed"; exit 1; }

# 1. page allocator instructions per call
out=$(valgrind --tool=callgrind --callgrind-out-file="$b/cg.pages" "$b/pages_bench" 2>/dev/null) ||
    { echo "$out"; echo "60-vm-costs: pages_bench failed"; exit 1; }
echo "$out"
allocs=$(echo "$out" | sed -n 's/.*: \([0-9]*\) allocs.*/\1/p')
frees=$(echo "$out" | sed -n 's/.* \([0-9]*\) frees.*/\1/p')
incl() {  # file function -> inclusive Ir
    callgrind_annotate --inclusive=yes "$1" 2>/dev/null |
        awk -v f=":$2 " '$0 ~ f && $0 !~ /=>|< |\*/ {gsub(",", "", $1); print $1; exit}'
}
ia=$(incl "$b/cg.pages" hk_pages_alloc); if_=$(incl "$b/cg.pages" hk_pages_free)
if [ -z "$ia" ] || [ -z "$if_" ] || [ -z "$allocs" ] || [ -z "$frees" ]; then
    echo "60-vm-costs: could not read the callgrind output"; exit 1
fi
pa=$((ia / allocs)); pf=$((if_ / frees))
echo "hk_pages_alloc: $pa instructions per call ($allocs calls)"
echo "hk_pages_free:  $pf instructions per call ($frees calls)"

# 2. the hosted fault
"$b/vm_fault_cost" 20000 || { echo "60-vm-costs: vm_fault_cost failed"; exit 1; }
out=$(valgrind --tool=callgrind --callgrind-out-file="$b/cg.fault" "$b/vm_fault_cost" 2000 direct 2>/dev/null) ||
    { echo "$out"; echo "60-vm-costs: vm_fault_cost under callgrind failed"; exit 1; }
faults=$(echo "$out" | sed -n 's/.* \([0-9]*\) hk_vm faults.*/\1/p')
ih=$(incl "$b/cg.fault" hk_vm_fault); iz=$(incl "$b/cg.fault" lv_zero)
if [ -n "$ih" ] && [ -n "$iz" ] && [ -n "$faults" ] && [ "$faults" -gt 0 ]; then
    echo "hosted demand fault: $(( (ih - iz) / faults )) user-space instructions per fault" \
         "(+ $(( iz / faults )) counted for zeroing the frame), $faults faults"
else
    echo "60-vm-costs: could not read the fault profile"; exit 1
fi
# regression bounds: generous, an order of magnitude above today's figures
[ "$pa" -le 600 ] && [ "$pf" -le 900 ] || { echo "60-vm-costs: page allocator got slower"; exit 1; }
echo "60-vm-costs: ok"
