#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""report.py - bench/heap/RESULTS.md from the files bench/heap/run.sh wrote.
Usage: report.py OUTDIR FIT [BEFOREDIR]"""
import glob
import math
import os
import sys

out, fit = sys.argv[1], sys.argv[2]
before = sys.argv[3] if len(sys.argv) > 3 and os.path.isdir(sys.argv[3]) else None

# ../shared/traces/README.md, measured the same way (gcc -O2, x86-64)
O1HEAP = {"real-sqlite3": 85, "real-gcc-cc1": 81, "real-python-json": 91}
TLSF_MEM = {"real-sqlite3": 1.024, "real-gcc-cc1": 1.054, "real-python-json": 1.129,
            "binary-bal": 1.825, "random-bal": 1.066, "coalescing-bal": 1.801,
            "realloc-bal": 1.012}


def kv(path):
    d = {}
    if os.path.exists(path):
        for line in open(path):
            if "=" in line:
                k, v = line.strip().split("=", 1)
                d[k] = v
    return d


def per_call(d):
    m, f, r = (int(d.get(k, 0)) for k in ("malloc_calls", "free_calls", "realloc_calls"))
    im, i_f, ir = (int(d.get(k, 0)) for k in ("instr_malloc", "instr_free", "instr_realloc"))
    if not m:
        return None
    return ((im + i_f + ir) / (m + f + r), im / m, i_f / max(f, 1), ir / max(r, 1))


def met(ok):
    return "met" if ok else "**not met**"


real = sorted(os.path.basename(p)[4:-4] for p in glob.glob(os.path.join(out, "run.*.txt")))
lines = ["# Heap figures (bench/heap/run.sh)", "",
         f"Policy {fit}. Built with gcc -O2 -DNDEBUG, x86-64, no lock; callgrind counts the "
         "instructions inside the non-inlined wrappers of bench/heap/heapbench.c (plus about 4 "
         "of call glue, as in the reference figures of ../shared/traces/README.md). The arena "
         "of the instruction runs is the one hk-replay uses: twice the peak live bytes plus "
         "1 MiB.", "", "## Goals", "", "| goal | figure | |", "| --- | --- | --- |"]
rows = []
ok_all = True
for t in real:
    pc = per_call(kv(os.path.join(out, f"run.{t}.txt")))
    if not pc:
        continue
    ok = t in O1HEAP and pc[0] < O1HEAP[t]
    lines.append(f"| {t}: fewer instructions per call than o1heap ({O1HEAP.get(t, '?')}) | "
                 f"{pc[0]:.1f} | {met(ok)} |")
    ok60 = pc[0] <= 60
    lines.append(f"| {t}: 60 instructions per call | {pc[0]:.1f} | {met(ok60)} |")
wm = wf = 0
wsrc = ""
cut = []
for t in real:
    d = kv(os.path.join(out, f"worst.{t}.txt"))
    if d:
        if int(d["worst_malloc"]) > wm:
            wm = int(d["worst_malloc"])
        if int(d["worst_free"]) > wf:
            wf = int(d["worst_free"])
        full = kv(os.path.join(out, f"run.{t}.txt")).get("ops")
        if full and d.get("ops") != full:
            cut.append(f"{t}: first {d['ops']} ops")
        wsrc = "every call of " + ("the real-program traces (" + "; ".join(cut) + ")" if cut
                                   else "every real-program trace")
if wsrc:
    lines.append(f"| worst single malloc <= 110 ({wsrc}) | {wm} | {met(wm <= 110)} |")
    lines.append(f"| worst single free <= 100 ({wsrc}) | {wf} | {met(wf <= 100)} |")
def load_mem(prefix):
    """The smallest-arena and floor ratios of the prefix.TRACE.txt files."""
    m, fl = {}, {}
    for p in glob.glob(os.path.join(out, prefix + ".*.txt")):
        d = kv(p)
        t = os.path.basename(p)[len(prefix) + 1:-4]
        if "mem_ratio" in d:
            m[t] = float(d["mem_ratio"])
        if "floor_ratio" in d:
            fl[t] = float(d["floor_ratio"])
    return m, fl


mems, floors = load_mem("mem")
mems8, floors8 = load_mem("mem8")  # the same build at HK_ALIGN 8, TLSF's alignment on x86-64

def vs_tlsf(t, m, fl):
    """heapkit's figure against TLSF's, and the floor when it alone is above TLSF's."""
    s = f"{t} {m[t]:.3f} (TLSF {TLSF_MEM[t]:.3f}"
    if t in fl and fl[t] > TLSF_MEM[t]:
        s += f"; the blocks alone, at the peak: {fl[t]:.3f}"
    return s + ")"


for m, fl, what in ((mems, floors, ""),
                    (mems8, floors8, ", both at 8-byte alignment (heapkit built with HK_ALIGN 8)")):
    worse = [t for t in TLSF_MEM if t.startswith("real-") and t in m and
             round(m[t], 3) > TLSF_MEM[t]]
    if any(t.startswith("real-") for t in m):
        lines.append(f"| memory no worse than TLSF on any real trace{what} | "
                     + ", ".join(vs_tlsf(t, m, fl) for t in sorted(TLSF_MEM)
                                 if t.startswith("real-") and t in m)
                     + f" | {met(not worse)} |")
shared = [t for t in mems if t != "mcu-queues"]
if shared:
    g = math.exp(sum(math.log(mems[t]) for t in shared) / len(shared))
    lines.append(f"| memory geomean <= 1.10 over the {len(shared)} traces of ../shared/traces | "
                 f"{g:.3f} | {met(g <= 1.10)} |")
ARENAS = (30208, 30720, 31232, 31744, 32768)
mcu = [(a, kv(os.path.join(out, f"mcu.{fit}.{a}.txt")), kv(os.path.join(out, f"mcu.first.{a}.txt")))
       for a in ARENAS]
mcu = [(a, t, f) for a, t, f in mcu if t and f]
if mcu:
    ok = all(int(t["failed_allocs"]) <= int(f["failed_allocs"]) for a, t, f in mcu)
    lines.append("| MCU queues (32-bit, HK_ALIGN 8): no more failed allocations than first fit, "
                 "30-32 KiB arenas | " + ", ".join(f"{a}: {t['failed_allocs']} vs {f['failed_allocs']}"
                                                   for a, t, f in mcu) + f" | {met(ok)} |")
    sweep = [(a, kv(os.path.join(out, f"mcu.{fit}.{a}.txt")), kv(os.path.join(out, f"mcu.first.{a}.txt")))
             for a in range(29696, 33792 + 1, 256)]
    sweep = [(a, int(t["failed_allocs"]), int(f["failed_allocs"])) for a, t, f in sweep if t and f]
    if sweep:
        worse = [f"{a} ({t} vs {f})" for a, t, f in sweep if t > f]
        lines.append(f"| MCU queues, every 256 B from {sweep[0][0]} to {sweep[-1][0]} B "
                     f"({len(sweep)} arenas): failed allocations in all, against first fit | "
                     f"{sum(t for a, t, f in sweep)} vs {sum(f for a, t, f in sweep)}; more than "
                     f"first fit at {', '.join(worse) if worse else 'none'} | |")
    c = int(mcu[-1][1]["control"])  # the largest arena: 32 KiB
    lines.append(f"| control structure <= 256 B for a 32 KiB heap (32-bit, HK_ALIGN 8) | {c} B | "
                 f"{met(c <= 256)} |")

lines += ["", "## Instructions per call", "",
          "| trace | per call | malloc | free | realloc | o1heap (per call) |"
          + (" before: per call / malloc / free |" if before else ""),
          "| --- | --- | --- | --- | --- | --- |" + (" --- |" if before else "")]
for t in real:
    pc = per_call(kv(os.path.join(out, f"run.{t}.txt")))
    if not pc:
        continue
    row = f"| {t} | {pc[0]:.1f} | {pc[1]:.1f} | {pc[2]:.1f} | {pc[3]:.1f} | {O1HEAP.get(t, '')} |"
    if before:
        pb = per_call(kv(os.path.join(before, f"run.{t}.txt")))
        row += f" {pb[0]:.1f} / {pb[1]:.1f} / {pb[2]:.1f} |" if pb else " |"
    lines.append(row)
lines += ["", "## Worst single call (every call of the whole trace, one callgrind dump each)", "",
          "| trace | calls | worst malloc (op) | worst free (op) | worst realloc (op) |"
          + (" before: malloc / free |" if before else ""),
          "| --- | --- | --- | --- | --- |" + (" --- |" if before else "")]
for t in real:
    d = kv(os.path.join(out, f"worst.{t}.txt"))
    if not d:
        continue
    calls = int(d["malloc_calls"]) + int(d["free_calls"]) + int(d["realloc_calls"])
    full = kv(os.path.join(out, f"run.{t}.txt")).get("ops")
    name = t + (f" (first {d['ops']} ops)" if full and d.get("ops") != full else "")
    row = (f"| {name} | {calls} | {d['worst_malloc']} (#{d['worst_malloc_op']}) | "
           f"{d['worst_free']} (#{d['worst_free_op']}) | {d['worst_realloc']} "
           f"(#{d['worst_realloc_op']}) |")
    if before:
        b = kv(os.path.join(before, f"worst.{t}.txt"))
        row += f" {b.get('worst_malloc', '')} / {b.get('worst_free', '')} |"
    lines.append(row)
lines += ["", "## Memory: smallest arena / peak live bytes (8-byte bisection)", "",
          "| trace | heapkit | floor: the blocks at the peak | heapkit, HK_ALIGN 8 | floor, HK_ALIGN 8 "
          "| TLSF (8-byte alignment) |" + (" before |" if before else ""),
          "| --- | --- | --- | --- | --- | --- |" + (" --- |" if before else "")]
for t in sorted(mems):
    fl = f"{floors[t]:.3f}" if t in floors else ""
    m8 = f"{mems8[t]:.3f}" if t in mems8 else ""
    fl8 = f"{floors8[t]:.3f}" if t in floors8 else ""
    row = f"| {t} | {mems[t]:.3f} | {fl} | {m8} | {fl8} | {TLSF_MEM.get(t, '')} |"
    if before:
        b = kv(os.path.join(before, f"mem.{t}.txt"))
        row += f" {float(b['mem_ratio']):.3f} |" if "mem_ratio" in b else " |"
    lines.append(row)
lines += ["", "## How these were measured", "",
          "- `bash bench/heap/run.sh` (HK_BENCH_BEFORE=DIR adds the before columns from an "
          "earlier run's output directory). Instructions: callgrind "
          "`--toggle-collect='hb_*'`, split per wrapper by bench/heap/cgsplit.py. Worst case: "
          "`heapbench --worst DIR` under callgrind with `--dump-after` on each wrapper; the driver "
          "reads and deletes each call's dump, so whole traces are measured (the three real "
          "traces, 2.2M calls, took 8 minutes on an idle 2-core machine, slower when it is "
          "loaded: HK_BENCH_WORST_PREFIX=N cuts each trace to N operations, marked in the table).",
          "- Memory: `heapbench --mem`: bisection to 8 bytes over forked trials that "
          "pattern-check every block and end with hk_heap_validate. The floor: the bytes of "
          "the blocks live right after the trace's peak, each of the size this build gives "
          "its request (header and granule: 16 B on x86-64), over the peak live bytes; no "
          "arena of this build can be smaller, whatever the placement. The default build "
          "aligns to 16 bytes on x86-64 (max_align_t); TLSF's reference figures were taken "
          "with its 64-bit alignment of 8 bytes, so the real-program traces are measured "
          "again with HK_ALIGN 8 (heapbench8), for the comparison at equal alignment.",
          "- MCU: bench/heap/mcu-queues.rep (bench/heap/mcu_gen.py, deterministic), replayed "
          "by a 32-bit build with HK_ALIGN 8 (`heapbench --fails ARENA`), failed allocations "
          "counted and the replay continued. Control structure: hk_heap_overhead(32768, NULL).",
          "- Code size: `make size` (docs/size.md).",
          "- The before columns: " + os.environ.get(
              "HK_BENCH_BEFORE_NOTE",
              "the figures of an earlier run (HK_BENCH_BEFORE=DIR), measured with the same "
              "driver; a column left empty was not measured in that run.")]
print("\n".join(lines))
