#!/usr/bin/env python3
"""Print reports (both stacks, K frames) from a Valgrind XML file.
usage: vgshow.py FILE.xml [SUBSTR-of-top-function|ALL] [-k K] [-m MAX]"""
import sys, argparse
import xml.etree.ElementTree as ET
ap = argparse.ArgumentParser()
ap.add_argument("xml"); ap.add_argument("fn", nargs="?", default="ALL")
ap.add_argument("-k", type=int, default=7); ap.add_argument("-m", type=int, default=1000)
a = ap.parse_args()
text = open(a.xml, errors="replace").read()
if "</valgrindoutput>" not in text: text += "</valgrindoutput>"
root = ET.fromstring(text)
def fr(f):
    return f"{f.findtext('fn') or f.findtext('obj')} ({(f.findtext('file') or '')}:{f.findtext('line') or ''})"
shown = 0
for err in root.iter("error"):
    stacks = err.findall("stack")
    fns = [f.findtext("fn") or "?" for f in stacks[0].iter("frame")] if stacks else []
    if a.fn != "ALL" and not (fns and a.fn in fns[0]):
        continue
    shown += 1
    if shown > a.m: break
    what = err.findtext("what") or err.findtext("xwhat/text")
    print("=" * 70); print(what)
    for i, st in enumerate(stacks):
        if i: print("  --- other access:", (err.findall("xauxwhat") or err.findall("auxwhat") or [None])[0] is not None and ((err.findall("xauxwhat")[0].findtext("text")) if err.findall("xauxwhat") else err.findall("auxwhat")[0].text))
        for f in list(st.iter("frame"))[:a.k]:
            print("   ", fr(f))
