#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tools/bench/report.py - writes the benchmark report from hk-replay's JSON.

Called by scripts/bench.sh; reads the files it left in --work and writes one
Markdown report (--out) with its plots (SVG, drawn by gnuplot) in --pics.
Standard library only. The reference figures of the peers (TLSF, o1heap,
FreeRTOS heap_4, which cannot be built here) are those of
shared/traces/README.md, measured with the same method.
"""
import argparse
import json
import os
import platform
import subprocess

# shared/traces/README.md: instr/op and memory (smallest arena / peak live)
REF = {
    #                 TLSF  o1heap heap_4 glibc mimalloc  TLSFmem o1mem  h4mem
    "real-sqlite3":     (137, 85, 56, 89, 38, 1.024, 1.935, 1.025),
    "real-gcc-cc1":     (135, 81, 305, 105, 36, 1.054, 1.933, 1.118),
    "real-python-json": (148, 91, 93, 122, 36, 1.129, 1.869, 1.285),
    "binary-bal":       (178, 91, 3771, 185, 44, 1.825, 2.889, 1.861),
    "random-bal":       (169, 77, 677, 264, 160, 1.066, 1.355, 1.102),
    "coalescing-bal":   (182, 90, 47, 149, 106, 1.801, 2.071, 1.006),
    "realloc-bal":      (172, None, 86232, 98, 251, 1.012, 4.264, 2.999),
}
REAL_MEM_GOAL = {"real-sqlite3": 1.02, "real-gcc-cc1": 1.05, "real-python-json": 1.10}
TLSF_BLOCKS = {32: [16, 20, 28, 36, 68, 104, 1004], 64: [32, 32, 32, 40, 72, 112, 1008]}
BLOCK_SIZES = [1, 16, 24, 32, 64, 100, 1000]
SYSTEM = ["glibc", "jemalloc", "mimalloc", "tcmalloc", "hkmalloc"]
POLICIES = ["tlsf", "first", "best"]


def load(work, name):
    p = os.path.join(work, name)
    if not os.path.exists(p) or os.path.getsize(p) == 0:
        return []
    with open(p) as f:
        try:
            return json.load(f)
        except ValueError:
            return []


def index(rows):
    return {(r["trace"], r["alloc"]): r for r in rows}


def sizes(work, name):
    p = os.path.join(work, name)
    out = {}
    if os.path.exists(p):
        for line in open(p):
            k, _, v = line.partition(" ")
            if v.strip():
                out[k] = int(v)
    return out


def fmt(v, nd=1):
    if v is None or v == 0:
        return "–"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def met(ok):
    return "**met**" if ok else "**not met**"


def gnuplot(script):
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return True
    except (OSError, subprocess.CalledProcessError) as e:
        print("report: gnuplot failed:", getattr(e, "stderr", e))
        return False


def bar_chart(path, title, ylabel, labels, series, names, logscale=False, goal=None):
    """Clustered bars: one cluster per label, one bar per series; an optional
    dashed horizontal line at the goal value."""
    data = path + ".dat"
    with open(data, "w") as f:
        f.write("trace " + " ".join(f'"{n}"' for n in names) + "\n")
        for i, lab in enumerate(labels):
            vals = []
            for s in series:
                v = s[i]
                vals.append("?" if v is None or v == 0 else f"{v}")
            f.write(f'"{lab}" ' + " ".join(vals) + "\n")
    ncol = len(names)
    plot = ", ".join(
        f"'{data}' using {c + 2}:xtic(1) title columnheader({c + 2})" for c in range(ncol))
    script = f"""
set terminal svg size 1000,420 dynamic font "sans,11" background "#ffffff"
set output '{path}'
set title "{title}"
set ylabel "{ylabel}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set datafile missing "?"
set xtics rotate by -30
set key outside right top
set grid ytics
{"set logscale y" if logscale else "set yrange [0:*]"}
{f'set arrow from graph 0, first {goal} to graph 1, first {goal} nohead dt 2 lw 2 lc rgb "#cc0000"' if goal else ""}
{f'set label "goal {goal}" at graph 0.01, first {goal} offset 0,0.6 tc rgb "#cc0000"' if goal else ""}
plot {plot}
"""
    ok = gnuplot(script)
    os.unlink(data)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--pics", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--worst-prefix", type=int, default=20000)
    ap.add_argument("--prefix-on", type=int, default=60000)
    a = ap.parse_args()
    os.makedirs(a.pics, exist_ok=True)

    mem = index(load(a.work, "mem.json"))
    sysr = index(load(a.work, "sys.json"))
    instr = index(load(a.work, "instr.json"))
    instr_fb = index(load(a.work, "instr_fb.json"))
    instr_fbp = index(load(a.work, "instr_fb_prefix.json"))
    worst = index(load(a.work, "worst.json"))
    worst_p = index(load(a.work, "worst_prefix.json"))
    s64 = sizes(a.work, "sizes64.txt")
    s32 = sizes(a.work, "sizes32.txt")
    s32a8 = sizes(a.work, "sizes32a8.txt")

    traces = sorted({t for (t, _) in list(mem) + list(instr)},
                    key=lambda t: (not t.startswith("real-"), t))
    real = [t for t in traces if t.startswith("real-")]
    picdir = os.path.relpath(a.pics, os.path.dirname(a.out))

    def ipo(t, alloc):
        r = instr.get((t, alloc))
        if r and r["ok"] and r["instr_per_op"] > 0:
            return r["instr_per_op"]
        return None

    def ipo_fb(t, alloc):
        r = instr_fb.get((t, alloc)) or instr_fbp.get((t, alloc))
        if r and r["ok"] and r["instr_per_op"] > 0:
            return r["instr_per_op"], (t, alloc) in instr_fbp
        return None, False

    def memr(t, alloc):
        r = mem.get((t, alloc))
        if r and r["ok"] and r["mem_ratio"] > 0:
            return r["mem_ratio"]
        return None

    L = []
    w = L.append
    w(f"# heapkit benchmark {a.name}\n")
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cc = subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    w(f"Machine: {platform.machine()}, {cpu}, {os.cpu_count()} cores; {cc}; "
      "heapkit built -O2 -DNDEBUG, no lock, internal assertions off. "
      "Produced by `make bench` (scripts/bench.sh, tools/bench/report.py); "
      "method in docs/tools.md and below.\n")

    # ---- goals ---------------------------------------------------------------
    w("## Goals for HK_FIT_TLSF\n")
    w("| goal | figure | result |\n| --- | --- | --- |")
    goals_ok = []
    # instr/op
    for t in real:
        v = ipo(t, "tlsf")
        ok = v is not None and v <= 60
        goals_ok.append(ok)
        w(f"| instructions/op ≤ 60 on {t} | {fmt(v)} | {met(ok)} |")
    allv = [(t, ipo(t, "tlsf")) for t in traces]
    worst_t = max(allv, key=lambda x: x[1] or 1e9) if allv else ("–", None)
    ok = bool(allv) and all(v is not None and v <= 100 for _, v in allv)
    goals_ok.append(ok)
    w(f"| instructions/op ≤ 100 on every trace | highest {fmt(worst_t[1])} ({worst_t[0]}) | {met(ok)} |")
    # memory
    for t in real:
        v = memr(t, "tlsf")
        g = REAL_MEM_GOAL.get(t)
        if g is None:
            continue
        ok = v is not None and v <= g
        goals_ok.append(ok)
        w(f"| memory ≤ {g:.2f} on {t} | {fmt(v, 3)} | {met(ok)} |")
    bad_peer = []
    for t in traces:
        if t in REF:
            v = memr(t, "tlsf")
            best_peer = min(x for x in REF[t][5:8] if x)
            if v is None or v > best_peer:
                bad_peer.append(f"{t} {fmt(v, 3)} vs {best_peer:.3f}")
    ok = not bad_peer
    goals_ok.append(ok)
    w(f"| memory at least as good as the best peer (TLSF, o1heap, heap_4) on every trace with "
      f"reference figures | {'; '.join(bad_peer) if bad_peer else 'all ' + str(len([t for t in traces if t in REF])) + ' traces'} | {met(ok)} |")
    bad_best = []
    for t in traces:
        v, b = memr(t, "tlsf"), memr(t, "best")
        if v is None or b is None or v > b * 1.02:
            bad_best.append(f"{t} {fmt(v, 3)} vs best-fit {fmt(b, 3)}")
    ok = not bad_best
    goals_ok.append(ok)
    w(f"| memory within 2% of heapkit's best fit on every trace | "
      f"{'; '.join(bad_best) if bad_best else 'all traces'} | {met(ok)} |")
    # worst case
    wm = max([r["worst_malloc"] for r in list(worst.values()) + list(worst_p.values())
              if r.get("ok")] or [0])
    wf = max([r["worst_free"] for r in list(worst.values()) + list(worst_p.values())
              if r.get("ok")] or [0])
    wr = max([r["worst_realloc"] for r in list(worst.values()) + list(worst_p.values())
              if r.get("ok")] or [0])
    ok = 0 < wm <= 110
    goals_ok.append(ok)
    w(f"| worst single malloc ≤ 110 instructions | {fmt(wm)} | {met(ok)} |")
    ok = 0 < wf <= 100
    goals_ok.append(ok)
    w(f"| worst single free ≤ 100 instructions | {fmt(wf)} | {met(ok)} |")
    # fixed cost
    c32 = s32.get("overhead_tlsf_65536")
    ok = c32 is not None and c32 <= 1024
    goals_ok.append(ok)
    w(f"| control structure of an empty heap ≤ 1 KiB on 32-bit (64 KiB heap) | "
      f"{fmt(c32)} bytes (4 KiB heap {fmt(s32.get('overhead_tlsf_4096'))}, 1 MiB heap "
      f"{fmt(s32.get('overhead_tlsf_1048576'))}, largest possible {fmt(s32.get('overhead_tlsf_max'))}) | {met(ok)} |")
    w("")
    w(f"{sum(goals_ok)} of {len(goals_ok)} goals met. The worst case was measured over every call "
      f"of the CMU traces and of the first {a.worst_prefix} operations of each real-program trace "
      "(one callgrind dump per call); realloc is not part of the goal "
      f"(its worst here: {fmt(wr)}, it copies).\n")

    # ---- instructions ---------------------------------------------------------
    w("## Instructions per call (callgrind)\n")
    w("Instructions executed inside the allocator calls (each call wrapped in its own non-inlined "
      "function, `--toggle-collect` on the wrappers) divided by the number of calls; malloc, free "
      "and realloc together. Peers from shared/traces/README.md, same method. hkmalloc is "
      "heapkit's drop-in malloc (src/malloc) preloaded like the system allocators.\n")
    hdr = ["trace", "heapkit tlsf", "first", "best"] + SYSTEM + ["ref TLSF", "ref o1heap", "ref heap_4"]
    w("| " + " | ".join(hdr) + " |")
    w("|" + " --- |" * len(hdr))
    for t in traces:
        cells = [t, fmt(ipo(t, "tlsf"))]
        for p in ("first", "best"):
            v, cut = ipo_fb(t, p)
            cells.append(fmt(v) + (" ¹" if cut and v else ""))
        cells += [fmt(ipo(t, s)) for s in SYSTEM]
        r = REF.get(t)
        cells += [fmt(r[0]), fmt(r[1]), fmt(r[2])] if r else ["–"] * 3
        w("| " + " | ".join(cells) + " |")
    w(f"\n¹ first {a.prefix_on} operations only (first and best fit are O(free blocks)).\n")
    if bar_chart(os.path.join(a.pics, "instr.svg"), "instructions per call (log scale)",
                 "instructions", traces,
                 [[ipo(t, "tlsf") for t in traces],
                  [REF[t][0] if t in REF else None for t in traces],
                  [REF[t][1] if t in REF else None for t in traces],
                  [ipo(t, "glibc") for t in traces],
                  [ipo(t, "mimalloc") for t in traces]],
                 ["heapkit tlsf", "TLSF (ref)", "o1heap (ref)", "glibc", "mimalloc"],
                 logscale=True, goal=60):
        w(f"![instructions per call]({picdir}/instr.svg)\n")

    # ---- memory ---------------------------------------------------------------
    w("## Memory efficiency\n")
    w("heapkit: the smallest arena (resolution 8 bytes; every trial in a forked child, every "
      "block pattern-filled and checked) in which the whole trace succeeds, divided by the "
      "trace's peak live requested bytes; the control structure, headers, rounding and "
      "fragmentation are all inside. System allocators: peak RSS growth during the replay "
      "divided by the same peak (page granular, not comparable one to one).\n")
    hdr = ["trace", "peak live bytes", "heapkit tlsf", "first", "best", "ref TLSF", "ref o1heap",
           "ref heap_4"] + [s + " (rss)" for s in SYSTEM]
    w("| " + " | ".join(hdr) + " |")
    w("|" + " --- |" * len(hdr))
    for t in traces:
        r0 = mem.get((t, "tlsf")) or {}
        cells = [t, str(r0.get("peak_live", "–"))]
        cells += [fmt(memr(t, p), 3) for p in POLICIES]
        r = REF.get(t)
        cells += [fmt(r[5], 3), fmt(r[6], 3), fmt(r[7], 3)] if r else ["–"] * 3
        for s in SYSTEM:
            x = sysr.get((t, s))
            cells.append(fmt(x["mem_ratio"], 2) if x and x["ok"] else "–")
        w("| " + " | ".join(cells) + " |")
    w("")
    if bar_chart(os.path.join(a.pics, "memory.svg"), "smallest arena / peak live bytes",
                 "ratio", traces,
                 [[memr(t, p) for t in traces] for p in POLICIES] +
                 [[REF[t][5] if t in REF else None for t in traces],
                  [REF[t][7] if t in REF else None for t in traces]],
                 ["heapkit tlsf", "heapkit first", "heapkit best", "TLSF (ref)", "heap_4 (ref)"]):
        w(f"![memory efficiency]({picdir}/memory.svg)\n")

    # ---- worst case -------------------------------------------------------------
    w("## Worst case per call, HK_FIT_TLSF (callgrind, exact)\n")
    w("One callgrind dump after every allocator call, so each dump holds exactly one call plus "
      "a few instructions of wrapper glue; the maximum per kind. o1heap's reference: 113 malloc / "
      "108 free; TLSF's: 218 / 209.\n")
    w("| trace | calls | worst malloc | worst free | worst realloc |\n| --- | --- | --- | --- | --- |")
    for t in traces:
        r = worst.get((t, "tlsf")) or worst_p.get((t, "tlsf"))
        if not r:
            continue
        cut = (t, "tlsf") in worst_p
        name = t + (f" (first {a.worst_prefix} ops)" if cut else "")
        if not r["ok"]:
            w(f"| {name} | – | failed: {r['why']} | | |")
            continue
        w(f"| {name} | {r['calls']} | {r['worst_malloc']} | {r['worst_free']} | {r['worst_realloc']} |")
    w("")

    # ---- cycles -----------------------------------------------------------------
    w("## Cycles per call (rdtsc) — noisy\n")
    w("Measured around every call in one plain run on this machine. On a shared virtual machine "
      "the high percentiles and the maximum are dominated by preemption and interrupts; use the "
      "instruction counts above to compare allocators. p50 / p99 / p99.9 / max.\n")
    for t in real:
        allocs, rows_ = [], []
        for al in POLICIES + SYSTEM:
            r = mem.get((t, al)) or sysr.get((t, al))
            if r and r["ok"] and any(r["cycles_malloc"]):
                allocs.append(al)
                rows_.append(r)
        if allocs and bar_chart(
                os.path.join(a.pics, f"cycles-{t}.svg"),
                f"cycles per call on {t} (rdtsc, noisy; log scale)", "cycles", allocs,
                [[r["cycles_malloc"][0] for r in rows_], [r["cycles_malloc"][1] for r in rows_],
                 [r["cycles_malloc"][2] for r in rows_], [r["cycles_free"][0] for r in rows_],
                 [r["cycles_free"][1] for r in rows_], [r["cycles_free"][2] for r in rows_]],
                ["malloc p50", "malloc p99", "malloc p99.9", "free p50", "free p99", "free p99.9"],
                logscale=True):
            w(f"![cycles {t}]({picdir}/cycles-{t}.svg)\n")
    w("| trace | allocator | malloc | free |\n| --- | --- | --- | --- |")
    for t in traces:
        for al in POLICIES + SYSTEM:
            r = mem.get((t, al)) or sysr.get((t, al))
            if not r or not r["ok"] or not any(r["cycles_malloc"]):
                continue
            m = " / ".join(str(x) for x in r["cycles_malloc"])
            f_ = " / ".join(str(x) for x in r["cycles_free"])
            w(f"| {t} | {al} | {m} | {f_} |")
    w("")

    # ---- fixed costs ------------------------------------------------------------
    w("## Fixed costs\n")
    w("Control structure of an empty heap (bytes taken from the first region by hk_heap_init, "
      "HK_FIT_TLSF; the class table covers the region's size):\n")
    w("| heap size | 32-bit | 64-bit | TLSF (ref) 32 / 64-bit |\n| --- | --- | --- | --- |")
    for k, lab in (("4096", "4 KiB"), ("32768", "32 KiB"), ("65536", "64 KiB"),
                   ("1048576", "1 MiB"), ("max", "whole address space")):
        w(f"| {lab} | {fmt(s32.get('overhead_tlsf_' + k))} | {fmt(s64.get('overhead_tlsf_' + k))} "
          f"| 3.2 KiB / 6.5 KiB |")
    w(f"\nFirst and best fit: {fmt(s32.get('overhead_first_65536'))} bytes (32-bit), "
      f"{fmt(s64.get('overhead_first_65536'))} (64-bit). Alignment (HK_ALIGN): "
      f"{fmt(s32.get('align'))} on 32-bit x86, {fmt(s64.get('align'))} on x86-64.\n")
    w("Bytes one block consumes (header and rounding included), measured from hk_stats_t.used "
      "over 64 blocks and cross-checked with the pointer spacing:\n")
    w("| requested | " + " | ".join(str(b) for b in BLOCK_SIZES) + " |")
    w("|" + " --- |" * (len(BLOCK_SIZES) + 1))
    w("| heapkit 32-bit | " + " | ".join(fmt(s32.get(f"block_{b}")) for b in BLOCK_SIZES) + " |")
    if s32a8:
        w("| heapkit 32-bit, HK_ALIGN 8 | " +
          " | ".join(fmt(s32a8.get(f"block_{b}")) for b in BLOCK_SIZES) + " |")
    w("| TLSF 32-bit | " + " | ".join(str(v) for v in TLSF_BLOCKS[32]) + " |")
    w("| heapkit 64-bit | " + " | ".join(fmt(s64.get(f"block_{b}")) for b in BLOCK_SIZES) + " |")
    w("| TLSF 64-bit | " + " | ".join(str(v) for v in TLSF_BLOCKS[64]) + " |")
    w("\nThe x86-32 build uses HK_ALIGN = _Alignof(max_align_t) = 16; the HK_ALIGN 8 row is "
      "what a Cortex-M build gets (8 is the AAPCS max_align_t). TLSF's 32-bit figures use "
      "4-byte alignment.\n")
    if s32a8:
        w(f"Control structure with HK_ALIGN 8 on 32-bit, 64 KiB heap: "
          f"{fmt(s32a8.get('overhead_tlsf_65536'))} bytes.\n")

    # ---- fragmentation ------------------------------------------------------------
    w("## Fragmentation over time\n")
    w("External fragmentation (1 − largest free / free) and live bytes sampled 200 times along "
      "each real-program trace, in the smallest arena each policy needs (so the heap is under "
      "pressure at the peak). Heap maps of HK_FIT_TLSF at the peak and at the end are beside "
      "the plots.\n")
    for t in real:
        w(f"![fragmentation {t}]({picdir}/frag-{t}.svg)\n")
        w(f"![heap map {t}]({picdir}/heapmap-{t}-tlsf.svg)\n")

    # ---- failures ------------------------------------------------------------------
    fails = [r for d in (mem, sysr, instr, instr_fb, instr_fbp, worst, worst_p)
             for r in d.values() if not r["ok"] and not r["skipped"]]
    if fails:
        w("## Runs that failed\n")
        for r in fails:
            w(f"- {r['trace']} on {r['alloc']}: {r['why']}")
        w("")
    with open(a.out, "w") as f:
        f.write("\n".join(L) + "\n")
    print("report:", a.out)


if __name__ == "__main__":
    main()
