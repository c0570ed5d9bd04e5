#!/usr/bin/env python3
"""Memcheck wall time and peak memory: pool mode against routed mode and
upstream --with-valgrind.

  build/python tools/memcheck_modes.py [--baseline DIR] [--jobs N]
                                       [--modules N] [--bench-runs N]

For each module of the noise set (tests/noise/test_modules.txt), `-m test
MODULE` under the leak-gating options and the suppression file, once per
configuration, the three runs of a module back to back in an order that
rotates from module to module (so that the machine's load falls on each
configuration alike); JOBS modules at a time.  Then the allocation-heavy
workload (bench/workload.py), the configurations rotated run by run, one at
a time.  Peak memory is the maximum resident set size of the Valgrind
process (wait4).  Writes build/bench/modes.md."""

import argparse
import concurrent.futures
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests"))
import support  # noqa: E402
import test_memcheck_noise  # noqa: E402

WORKLOAD = os.path.join(TOP, "bench", "workload.py")
WORKLOAD_N = "100000"


def configs(baseline):
    return [
        ("upstream `--with-valgrind`", os.path.join(baseline, "upstream", "python"), {}),
        ("routed (default)", support.PYTHON, {}),
        ("pool (`PYTHONVALGRIND=pool`)", support.PYTHON, {"PYTHONVALGRIND": "pool"}),
    ]


def run(python, env, args, options):
    """Run python ARGS under Memcheck; return (seconds, peak KiB, errors,
    exit status)."""
    run_env = {k: v for k, v in os.environ.items()
               if k not in support.UNSET_FOR_CPYTHON_TESTS}
    run_env.update(env, PYTHONHASHSEED="0")
    with tempfile.TemporaryDirectory() as tmp:
        xml_file = os.path.join(tmp, "out.xml")
        cmd = (["valgrind", "--child-silent-after-fork=yes", "--xml=yes",
                "--xml-file=" + xml_file] + options + [python] + args)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=run_env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        errors = len(ET.parse(xml_file).getroot().findall("error"))
    return seconds, usage.ru_maxrss, errors, proc.returncode


def measure_modules(cfgs, modules, jobs):
    def one(index_module):
        index, module = index_module
        results = [None] * len(cfgs)
        order = [(index + k) % len(cfgs) for k in range(len(cfgs))]
        for c in order:
            _, python, env = cfgs[c]
            results[c] = run(python, env, ["-m", "test", module],
                             test_memcheck_noise.WITH_SUPPRESSIONS)
        print("%-20s" % module + "".join(
            "  %6.1f s %4d MB %d err rc %d" % (t, m // 1024, e, rc)
            for t, m, e, rc in results), flush=True)
        return module, results

    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(one, enumerate(modules)))


def measure_workload(cfgs, runs):
    results = [[] for _ in cfgs]
    for r in range(runs):
        for k in range(len(cfgs)):
            c = (r + k) % len(cfgs)
            _, python, env = cfgs[c]
            results[c].append(run(python, env, [WORKLOAD, WORKLOAD_N],
                                  ["--leak-check=no"]))
    return results


def quartiles(values):
    values = sorted(values)
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return q1, statistics.median(values), q3


def table(cfgs, modules, workload, njobs):
    ref = 1     # routed mode
    lines = ["| configuration | noise set: wall time (sum) | ratio to routed, per module: median (IQR) "
             "| peak memory per module: median | ratio to routed: median (IQR) "
             "| modules with reports | workload %s: wall time, median | peak memory | ratio to routed: time / memory |"
             % WORKLOAD_N,
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c, (name, _, _) in enumerate(cfgs):
        times = [r[c][0] for _, r in modules]
        mems = [r[c][1] for _, r in modules]
        tr = quartiles([r[c][0] / r[ref][0] for _, r in modules])
        mr = quartiles([r[c][1] / r[ref][1] for _, r in modules])
        noisy = sum(1 for _, r in modules if r[c][2] or r[c][3])
        wt = statistics.median(x[0] for x in workload[c])
        wm = statistics.median(x[1] for x in workload[c])
        wt_ref = statistics.median(x[0] for x in workload[ref])
        wm_ref = statistics.median(x[1] for x in workload[ref])
        lines.append("| %s | %.0f s | %.2f (%.2f-%.2f) | %.0f MB | %.2f (%.2f-%.2f) | %d of %d "
                     "| %.1f s | %.0f MB | %.2f / %.2f |" % (
                         name, sum(times), tr[1], tr[0], tr[2],
                         statistics.median(mems) / 1024, mr[1], mr[0], mr[2],
                         noisy, len(modules), wt, wm / 1024, wt / wt_ref, wm / wm_ref))
    lines.append("")
    lines.append("%d modules, %d at a time; workload: %d rotated runs of each."
                 % (len(modules), njobs, len(workload[0])))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default=os.path.join(support.BUILD, "baseline"))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--modules", type=int, default=0,
                        help="only the first N modules (default: all)")
    parser.add_argument("--bench-runs", type=int, default=5)
    args = parser.parse_args()
    cfgs = configs(args.baseline)
    modules = test_memcheck_noise.test_modules()
    if args.modules:
        modules = modules[:args.modules]
    per_module = measure_modules(cfgs, modules, args.jobs)
    workload = measure_workload(cfgs, args.bench_runs)
    for c, (name, _, _) in enumerate(cfgs):
        print("workload %s: %s" % (name, ", ".join(
            "%.1f s %d MB" % (t, m // 1024) for t, m, _, _ in workload[c])))
    text = table(cfgs, per_module, workload, args.jobs)
    os.makedirs(os.path.join(support.BUILD, "bench"), exist_ok=True)
    with open(os.path.join(support.BUILD, "bench", "modes.md"), "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
