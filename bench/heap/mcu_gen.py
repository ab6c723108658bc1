#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mcu_gen.py - writes bench/heap/mcu-queues.rep, a small-MCU workload for the
heap: tasks exchanging messages of 12 B to 4 KiB through bounded queues, the
pattern of a FreeRTOS application that passes heap-allocated buffers between
tasks (a sensor task's samples, a network task's packets, a logger's lines).

Deterministic (xorshift32, fixed seed): the same file on every run.
  - 6 tasks, 4 queues of depth 6; each step one task either sends (allocates
    a message and queues it; a full queue drops its oldest message, as a
    lossy telemetry queue does) or receives (frees the oldest message of a
    queue it reads);
  - message sizes: 60% 12-96 B (events, small records), 30% 96-768 B
    (packets, log lines), 10% 768 B-4 KiB (bulk buffers);
  - each task also keeps one long-lived working buffer that it reallocates
    now and then (grows, shrinks), as a protocol parser's buffer does.
Peak live bytes are close to 32 KiB, so a 32 KiB heap fragments and some
allocations fail: the figure is how many, per policy (heapbench --fails).
Usage: mcu_gen.py [OUT]"""
import sys

state = 0x2545F491


def rnd():
    global state
    x = state
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    state = x & 0xFFFFFFFF
    return state


def between(lo, hi):
    return lo + rnd() % (hi - lo + 1)


def msg_size():
    r = rnd() % 100
    if r < 60:
        return between(12, 96)
    if r < 90:
        return between(96, 768)
    return between(768, 4096)


TASKS, QUEUES, DEPTH, STEPS = 6, 4, 6, 24000
ops = []
free_ids = []
next_id = 0
live = {}


def new_id():
    global next_id
    if free_ids:
        return free_ids.pop()
    next_id += 1
    return next_id - 1


queues = [[] for _ in range(QUEUES)]
work = []
for t in range(TASKS):
    i = new_id()
    n = between(64, 512)
    ops.append(f"a {i} {n}")
    live[i] = n
    work.append(i)

for step in range(STEPS):
    task = rnd() % TASKS
    action = rnd() % 100
    q = queues[(task + rnd() % 2) % QUEUES]
    if action < 48:  # send
        if len(q) >= DEPTH:
            old = q.pop(0)
            ops.append(f"f {old}")
            del live[old]
            free_ids.append(old)
        i = new_id()
        n = msg_size()
        ops.append(f"a {i} {n}")
        live[i] = n
        q.append(i)
    elif action < 94:  # receive
        if q:
            old = q.pop(0)
            ops.append(f"f {old}")
            del live[old]
            free_ids.append(old)
    else:  # the task's working buffer changes size
        i = work[task]
        n = between(32, 1536)
        ops.append(f"r {i} {n}")
        live[i] = n

for q in queues:
    for i in q:
        ops.append(f"f {i}")
for i in work:
    ops.append(f"f {i}")

# peak live requested bytes, for the header
cur = peak = 0
sizes = {}
for op in ops:
    p = op.split()
    if p[0] == "a":
        sizes[p[1]] = int(p[2])
        cur += int(p[2])
    elif p[0] == "f":
        cur -= sizes.pop(p[1])
    else:
        cur += int(p[2]) - sizes[p[1]]
        sizes[p[1]] = int(p[2])
    peak = max(peak, cur)

out = sys.argv[1] if len(sys.argv) > 1 else "bench/heap/mcu-queues.rep"
with open(out, "w") as f:
    f.write(f"{peak}\n{next_id}\n{len(ops)}\n1\n")
    f.write("\n".join(ops) + "\n")
print(f"{out}: {len(ops)} ops, {next_id} ids, peak live {peak} bytes")
