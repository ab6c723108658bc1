#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cgsplit.py - inclusive instructions of each hb_* wrapper in one callgrind
output file (written with --compress-strings=no --compress-pos=no): the sum
of every cost line inside the wrapper's fn= block (its own lines and the
inclusive cost lines after each calls=). Prints key=value lines."""
import sys

tot = {}
cur = None
with open(sys.argv[1]) as f:
    for line in f:
        if line.startswith("fn="):
            name = line[3:].strip()
            cur = name if name.startswith("hb_") else None
            continue
        if cur is None or not line[:1].isdigit():
            continue
        parts = line.split()
        if len(parts) >= 2:
            tot[cur] = tot.get(cur, 0) + int(parts[1])
for k, v in sorted(tot.items()):
    print(f"instr_{k[3:]}={v}")
