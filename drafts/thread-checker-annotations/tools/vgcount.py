#!/usr/bin/env python3
"""Count Helgrind/DRD reports in a Valgrind XML file by kind and top function.
usage: vgcount.py FILE.xml [-n TOP] [--frames K] [--cat]
Prints: contexts (distinct reports), occurrences (sum of errorcounts),
then the top functions (first frame of the first stack) by contexts."""
import sys, collections, argparse
import xml.etree.ElementTree as ET

CATS = [  # (category, substrings of any of the first frames' functions)
    ("mimalloc", ("mi_", "_mi_", "mi_heap", "_PyMem_mi", "llist_", "_PyObject_MiFree")),
    ("refcount", ("Py_INCREF", "Py_DECREF", "_Py_IsImmortal", "_Py_atomic_store_uint32_relaxed",
                  "new_reference", "_Py_MergeZero", "_Py_DecRefShared", "_Py_brc", "_Py_ExplicitMerge",
                  "_Py_TryIncref", "_Py_IncRefShared", "_Py_REFCNT", "_Py_IsOwnedByCurrentThread")),
    ("lock", ("PyMutex", "_PyMutex", "_PyParkingLot", "mutex_unpark", "_PyCriticalSection", "_PyRawMutex",
              "_PySemaphore", "enqueue", "dequeue", "_PyEvent", "_PyOnceFlag")),
    ("qsbr", ("qsbr",)),
    ("stw", ("StopTheWorld", "StartTheWorld", "stop_the_world", "start_the_world", "tstate_", "_PyThreadState_", "park_detached")),
]

def load(path):
    # Valgrind may leave the file unterminated if killed; be lenient.
    text = open(path, errors="replace").read()
    if "</valgrindoutput>" not in text:
        text += "</valgrindoutput>"
    return ET.fromstring(text)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("xml")
    ap.add_argument("-n", type=int, default=15)
    ap.add_argument("--frames", type=int, default=1)
    ap.add_argument("--grep", default=None, help="count reports with FUNC anywhere in first stack")
    a = ap.parse_args()
    root = load(a.xml)
    counts = {}
    for ec in root.iter("errorcounts"):
        for pair in ec.iter("pair"):
            counts[pair.findtext("unique")] = int(pair.findtext("count"))
    kinds = collections.Counter()
    tops = collections.Counter()
    cats = collections.Counter()
    occ = 0
    n = 0
    grep = 0
    for err in root.iter("error"):
        n += 1
        kind = err.findtext("kind")
        kinds[kind] += 1
        occ += counts.get(err.findtext("unique"), 1)
        st = err.find("stack")
        fns = [f.findtext("fn") or f.findtext("obj") or "?" for f in st.iter("frame")] if st is not None else []
        tops[" < ".join(fns[:a.frames]) if fns else "?"] += 1
        cat = "other"
        for c, subs in CATS:
            if any(s in fn for fn in fns[:3] for s in subs):
                cat = c
                break
        cats[cat] += 1
        if a.grep and any(a.grep in fn for fn in fns):
            grep += 1
    print(f"contexts {n}  occurrences {occ}  kinds {dict(kinds)}")
    print("categories (first 3 frames):", dict(cats.most_common()))
    if a.grep:
        print(f"with {a.grep} in stack: {grep}")
    for fn, c in tops.most_common(a.n):
        print(f"{c:6d}  {fn}")

main()
