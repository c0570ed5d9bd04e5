#!/usr/bin/env python3
"""Self cost (Ir) per function of two callgrind out files, biggest differences.
usage: cgself.py A.out B.out [N]"""
import sys, re, collections
def load(path):
    names = {}; self_ = collections.Counter(); fn = None; skip = False
    for line in open(path):
        if line.startswith("fn="):
            m = re.match(r"fn=\((\d+)\)(?: (.*))?", line.strip())
            if m.group(2): names[m.group(1)] = m.group(2)
            fn = names[m.group(1)]; continue
        if line.startswith("cfn="):
            m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line.strip())
            if m and m.group(2): names[m.group(1)] = m.group(2)
            continue
        if line.startswith("calls="):
            skip = True; continue
        if line[:1].isdigit() or line[:1] in "+-*":
            if skip: skip = False; continue
            parts = line.split()
            if len(parts) >= 2 and fn:
                self_[fn] += int(parts[1])
    return self_
a = load(sys.argv[1]); b = load(sys.argv[2]); n = int(sys.argv[3]) if len(sys.argv) > 3 else 25
print(f"total {sum(a.values()):,} -> {sum(b.values()):,}  ratio {sum(b.values())/sum(a.values()):.5f}")
d = sorted(((b[k] - a[k], k) for k in set(a) | set(b)), key=lambda x: -abs(x[0]))
for v, k in d[:n]:
    print(f"{v:+14,d} {a[k]:14,d} {b[k]:14,d} {k}")
