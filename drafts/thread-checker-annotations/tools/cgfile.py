#!/usr/bin/env python3
"""Self cost of one function by source file (inlined code), two callgrind files."""
import sys, re, collections
def load(path, want):
    fnames = {}; names = {}; c = collections.Counter(); fn = None; fi = None; skip = False
    for line in open(path):
        m = re.match(r"(fl|fi|fe)=\((\d+)\)(?: (.*))?", line.strip())
        if m:
            if m.group(3): fnames[m.group(2)] = m.group(3)
            fi = fnames[m.group(2)]; continue
        m2 = re.match(r"(cfi|cfl)=\((\d+)\)(?: (.*))?", line.strip())
        if m2:
            if m2.group(3): fnames[m2.group(2)] = m2.group(3)
            continue
        m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line.strip())
        if m:
            if m.group(3): names[m.group(2)] = m.group(3)
            if m.group(1) == "fn": fn = names[m.group(2)]
            continue
        if line.startswith("calls="): skip = True; continue
        if re.match(r"[\d+\-*]", line):
            if skip: skip = False; continue
            p = line.split()
            if fn == want and len(p) >= 2: c[fi.split("/")[-1]] += int(p[1])
    return c
want = sys.argv[3]
a = load(sys.argv[1], want); b = load(sys.argv[2], want)
for k in sorted(set(a)|set(b), key=lambda k: -abs(b[k]-a[k]))[:15]:
    print(f"{b[k]-a[k]:+12,d} {a[k]:14,d} {b[k]:14,d} {k}")
