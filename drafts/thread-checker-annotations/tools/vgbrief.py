#!/usr/bin/env python3
"""One line per report: first K frames of the access | first K of the other access."""
import sys, collections
import xml.etree.ElementTree as ET
path = sys.argv[1]; k = int(sys.argv[2]) if len(sys.argv) > 2 else 3
text = open(path, errors="replace").read()
if "</valgrindoutput>" not in text: text += "</valgrindoutput>"
c = collections.Counter()
for err in ET.fromstring(text).iter("error"):
    sts = err.findall("stack")
    parts = []
    for st in sts[:2]:
        parts.append(" < ".join((f.findtext("fn") or "?") for f in list(st.iter("frame"))[:k]))
    c[" | ".join(parts)] += 1
for line, n in sorted(c.items(), key=lambda x: -x[1]):
    print(f"{n:4d} {line}")
