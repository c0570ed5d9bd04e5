"""What a Memcheck leak search costs against the number of live objects.

    build/python tools/leak_search_cost.py [N ...]
    build/python tools/leak_search_cost.py --free-threaded [N ...]

For each N (default 100000 200000 400000), in malloc and pool mode, runs
build/python under Memcheck with N live objects (a third each tuples,
lists and instances of a class, all held by one list) and times
_valgrind.leak_check() twice, after a warm-up search; prints a Markdown
table.  Each object is a chunk of its own for the leak checker
(Misc/README.valgrind): the time should grow linearly with N.

--free-threaded compares build/python (malloc mode, its default under
Memcheck) with build/python-ft (pool mode, its only one) for each N
(default 0 and 100000): what a search costs on each build.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests"))
import support  # noqa: E402

CHILD = """
import sys, time, _valgrind
class Item:
    def __init__(self, i):
        self.i = i
n = int(sys.argv[1])
held = []
for i in range(n // 3):
    held.append((i, i))
    held.append([i])
    held.append(Item(i))
_valgrind.leak_check()
times = []
for _ in range(2):
    start = time.perf_counter()
    _valgrind.leak_check()
    times.append(time.perf_counter() - start)
print(min(times))
"""


PYTHON_FT = os.path.join(support.BUILD, "python-ft")


def search_seconds(n, mode, python=support.PYTHON):
    proc, _ = support.valgrind(["-c", CHILD, str(n)],
                               env={"PYTHONVALGRIND": mode}, python=python)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    return float(proc.stdout.split()[-1])


def compare_builds(sizes):
    print("| live objects | build/python (malloc mode) | "
          "build/python-ft (pool mode) | ratio |")
    print("|---:|---:|---:|---:|")
    for n in sizes or [0, 100_000]:
        gil = search_seconds(n, "malloc")
        ft = search_seconds(n, "pool", PYTHON_FT)
        print(f"| {n:,} | {gil:.2f} s | {ft:.2f} s | {ft / gil:.1f} |",
              flush=True)


def main(argv):
    if argv[:1] == ["--free-threaded"]:
        compare_builds([int(a) for a in argv[1:]])
        return
    sizes = [int(a) for a in argv] or [100_000, 200_000, 400_000]
    print("| live objects | malloc mode: search | per 100 k | "
          "pool mode: search | per 100 k |")
    print("|---:|---:|---:|---:|---:|")
    for n in sizes:
        cells = [f"{n:,}"]
        for mode in ("malloc", "pool"):
            seconds = search_seconds(n, mode)
            cells += [f"{seconds:.2f} s", f"{seconds * 100_000 / n:.2f} s"]
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
