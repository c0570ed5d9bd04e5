#!/usr/bin/env python3
"""make bench: the patched build against builds of the same tarball without
the series.  Prints a Markdown table (also written to build/bench/results.md).

  tools/bench.py [--runs N]

Builds, once, in build/baseline/:
  plain      the pristine tarball, configured without options
  upstream   the pristine tarball, configured --with-valgrind (CPython's own)
(and, for tools/noise_table.py, pydebug: --with-pydebug --with-valgrind)
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(TOP, "build")
BASE = os.path.join(BUILD, "baseline")
WORKLOAD = os.path.join(TOP, "bench", "workload.py")
PATCHED = os.path.join(BUILD, "python")
PLAIN = os.path.join(BASE, "plain", "python")
UPSTREAM = os.path.join(BASE, "upstream", "python")

# Iterations: native runs take about a second; Valgrind runs fewer.
NATIVE_N = "3000000"
CALLGRIND_N = "200000"
MEMCHECK_N = "100000"


# Hash randomisation changes dict and set layouts, and with them the
# instruction count, from run to run: every measured run uses one seed.
RUN_ENV = dict(os.environ, PYTHONHASHSEED="0")


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


BASELINES = {
    "plain": [],
    "upstream": ["--with-valgrind"],
    "pydebug": ["--with-pydebug", "--with-valgrind"],
}


def build_baselines(names=("plain", "upstream")):
    src = os.path.join(BASE, "src")
    if not os.path.exists(os.path.join(src, "configure")):
        tarball = subprocess.run([os.path.join(TOP, "tools", "fetch-source")],
                                 check=True, capture_output=True, text=True).stdout.strip()
        os.makedirs(src + ".tmp", exist_ok=True)
        sh("tar", "-xf", tarball, "-C", src + ".tmp", "--strip-components=1")
        os.rename(src + ".tmp", src)
    for name in names:
        args = BASELINES[name]
        obj = os.path.join(BASE, name)
        sh(os.path.join(TOP, "tools", "configure-build"), src, obj, "--", *args)
        print("bench: building baseline %s" % name, file=sys.stderr, flush=True)
        with open(os.path.join(obj, "make.log"), "w") as log:
            sh("make", "-C", obj, "-j%d" % os.cpu_count(), stdout=log,
               stderr=subprocess.STDOUT)


def callgrind_instructions(python, env=None):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        sh("valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
           python, WORKLOAD, CALLGRIND_N, capture_output=True,
           env=dict(RUN_ENV, **(env or {})))
        with open(out) as f:
            text = f.read()
    return int(re.search(r"^summary:\s+(\d+)", text, re.M).group(1))


def wall_times(commands, runs):
    """Run the commands alternately, A B A B ...; return seconds per command."""
    times = [[] for _ in commands]
    for _ in range(runs):
        for i, cmd in enumerate(commands):
            start = time.perf_counter()
            sh(*cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=RUN_ENV)
            times[i].append(time.perf_counter() - start)
    return times


def describe(a, b):
    """Median of the per-pair ratios b/a, and their interquartile range."""
    ratios = sorted(y / x for x, y in zip(a, b))
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return statistics.median(ratios), q1, q3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    build_baselines()
    rows = []

    plain = callgrind_instructions(PLAIN)
    patched = callgrind_instructions(PATCHED)
    upstream = callgrind_instructions(UPSTREAM)
    rows.append("| Callgrind instructions, workload %s | %s | %s | %.4f | upstream --with-valgrind: %s (%.3f) |" % (
        CALLGRIND_N, format(plain, ","), format(patched, ","), patched / plain,
        format(upstream, ","), upstream / plain))

    native = wall_times([[PLAIN, WORKLOAD, NATIVE_N], [PATCHED, WORKLOAD, NATIVE_N]], args.runs)
    ratio, lo, hi = describe(*native)
    rows.append("| Wall time natively, workload %s, %d alternated pairs | %.3f s | %.3f s | %.3f | pair ratios IQR %.3f-%.3f |" % (
        NATIVE_N, args.runs, statistics.median(native[0]), statistics.median(native[1]), ratio, lo, hi))

    mc_runs = max(3, args.runs // 3)
    memcheck = wall_times([["valgrind", "-q", "--leak-check=no", UPSTREAM, WORKLOAD, MEMCHECK_N],
                           ["valgrind", "-q", "--leak-check=no", PATCHED, WORKLOAD, MEMCHECK_N]], mc_runs)
    ratio, lo, hi = describe(*memcheck)
    rows.append("| Memcheck wall time, workload %s, %d alternated pairs (baseline: upstream --with-valgrind) | %.2f s | %.2f s | %.3f | pair ratios IQR %.3f-%.3f |" % (
        MEMCHECK_N, mc_runs, statistics.median(memcheck[0]), statistics.median(memcheck[1]), ratio, lo, hi))

    table = "\n".join(["| measure | baseline | patched | ratio | notes |",
                       "|---|---:|---:|---:|---|"] + rows)
    os.makedirs(os.path.join(BUILD, "bench"), exist_ok=True)
    with open(os.path.join(BUILD, "bench", "results.md"), "w") as f:
        f.write(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
