#!/usr/bin/env python3
"""Memcheck wall time and peak memory: pool mode against malloc mode and
upstream --with-valgrind.

  build/python tools/memcheck_modes.py [--baseline DIR] [--jobs N]
                                       [--modules N] [--bench-runs N]

(make bench-modes.)  --baseline: where upstream/python is (default
build/baseline, built there as make bench builds it).

For each module of the noise set (tests/noise/test_modules.txt), `-m test
MODULE` under the leak-gating options and the suppression file, once per
configuration, the runs of a module back to back in an order that
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

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests"))
sys.path.insert(0, os.path.join(TOP, "tools"))
import bench  # noqa: E402
import support  # noqa: E402
import test_memcheck_noise  # noqa: E402
from memcheck.command import valgrind_command  # noqa: E402
from memcheck.report import Log  # noqa: E402

WORKLOAD = os.path.join(TOP, "bench", "workload.py")
WORKLOAD_N = "100000"


def configs(baseline):
    return [
        ("upstream `--with-valgrind`", os.path.join(baseline, "upstream", "python"), {}),
        ("malloc mode (default)", support.PYTHON, {}),
        ("pool (`PYTHONVALGRIND=pool`)", support.PYTHON, {"PYTHONVALGRIND": "pool"}),
        # The floor: pymalloc as it is, nothing announced, freelists on.
        # It hides the bugs (leaks are reported only per arena).
        ("pymalloc kept, nothing announced (`PYTHONVALGRIND=pymalloc`)",
         support.PYTHON, {"PYTHONVALGRIND": "pymalloc"}),
    ]


def run(python, env, args, options):
    """Run python ARGS under Memcheck; return (wall seconds, peak KiB,
    errors, exit status, CPU seconds)."""
    run_env = {k: v for k, v in os.environ.items()
               if k not in support.UNSET_FOR_CPYTHON_TESTS}
    run_env.update(env, PYTHONHASHSEED="0")
    with tempfile.TemporaryDirectory() as tmp:
        xml_file = os.path.join(tmp, "out.xml")
        cmd = valgrind_command([python, *args], options, xml_file=xml_file)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=run_env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        errors = len(Log(xml_file).findings)
    return (seconds, usage.ru_maxrss, errors, proc.returncode,
            usage.ru_utime + usage.ru_stime)


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
            "  %6.1f s (cpu %6.1f s) %4d MB %d err rc %d" % (t, cpu, m // 1024, e, rc)
            for t, m, e, rc, cpu in results), flush=True)
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
    ref = 1     # malloc mode
    lines = ["| configuration | wall time, sum | CPU time, sum "
             "| CPU time / malloc mode, per module: median (IQR) "
             "| wall time / malloc mode: median | peak memory, median (max) "
             "| peak memory / malloc mode: median (IQR) | modules with reports |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for c, (name, _, _) in enumerate(cfgs):
        res = [r[c] for _, r in modules]
        cr = quartiles([r[c][4] / r[ref][4] for _, r in modules])
        wr = quartiles([r[c][0] / r[ref][0] for _, r in modules])
        mr = quartiles([r[c][1] / r[ref][1] for _, r in modules])
        noisy = sum(1 for x in res if x[2] or x[3])
        lines.append("| %s | %.0f s | %.0f s | %.2f (%.2f-%.2f) | %.2f | %.0f MB (%.0f MB) "
                     "| %.2f (%.2f-%.2f) | %d of %d |" % (
                         name, sum(x[0] for x in res), sum(x[4] for x in res),
                         cr[1], cr[0], cr[2], wr[1],
                         statistics.median(x[1] for x in res) / 1024,
                         max(x[1] for x in res) / 1024, mr[1], mr[0], mr[2],
                         noisy, len(modules)))
    lines += ["", "%d modules of the noise set, `-m test MODULE` under the leak-gating "
              "options, %d at a time, the configurations of a module back to back "
              "in rotated order." % (len(modules), njobs), ""]
    lines += ["| configuration | workload %s: wall time, median | CPU time, median "
              "| CPU time / malloc mode | peak memory | peak memory / malloc mode |"
              % WORKLOAD_N,
              "|---|---:|---:|---:|---:|---:|"]
    cpu_ref = statistics.median(x[4] for x in workload[ref])
    mem_ref = statistics.median(x[1] for x in workload[ref])
    for c, (name, _, _) in enumerate(cfgs):
        cpu = statistics.median(x[4] for x in workload[c])
        mem = statistics.median(x[1] for x in workload[c])
        lines.append("| %s | %.1f s | %.1f s | %.2f | %.0f MB | %.2f |" % (
            name, statistics.median(x[0] for x in workload[c]), cpu, cpu / cpu_ref,
            mem / 1024, mem / mem_ref))
    lines += ["", "%d rotated runs of each configuration, one at a time, "
              "`--leak-check=no`." % len(workload[0])]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default=os.path.join(support.BUILD, "baseline"))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--modules", type=int, default=0,
                        help="only the first N modules (default: all)")
    parser.add_argument("--bench-runs", type=int, default=5)
    args = parser.parse_args()
    if args.baseline == parser.get_default("baseline"):
        bench.build_baselines(["upstream"])
    cfgs = configs(args.baseline)
    modules = test_memcheck_noise.test_modules()
    if args.modules:
        modules = modules[:args.modules]
    per_module = measure_modules(cfgs, modules, args.jobs)
    workload = measure_workload(cfgs, args.bench_runs)
    for c, (name, _, _) in enumerate(cfgs):
        print("workload %s: %s" % (name, ", ".join(
            "%.1f s (cpu %.1f s) %d MB" % (t, cpu, m // 1024)
            for t, m, _, _, cpu in workload[c])))
    text = table(cfgs, per_module, workload, args.jobs)
    os.makedirs(os.path.join(support.BUILD, "bench"), exist_ok=True)
    with open(os.path.join(support.BUILD, "bench", "modes.md"), "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
