#!/usr/bin/env python3
"""Sum call counts to functions matching a substring in a callgrind out file."""
import sys, re, collections
path = sys.argv[1]; pats = sys.argv[2:]
names = {}; tot = collections.Counter(); cur = None
for line in open(path):
    m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line)
    if m:
        if m.group(2): names[m.group(1)] = m.group(2)
        if line.startswith("cfn="): cur = names[m.group(1)]
        continue
    if line.startswith("calls=") and cur:
        n = int(line.split()[0][6:])
        tot[cur] += n; cur = None
for p in pats:
    for k, v in tot.items():
        if p in k: print(f"{v:10d} {k}")
