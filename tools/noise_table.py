#!/usr/bin/env python3
"""Memcheck noise and detection, this project against the alternatives.

  build/python tools/noise_table.py [--modules N]

For each configuration: what the leak-gating command reports for `-c pass`
(loss records and bytes, CPython's own since nothing else runs), and which
of the seeded bugs (tests/seededbugs) it reports at their function, each bug
in its own process.  Writes build/bench/noise.md."""

import argparse
import os
import statistics
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests"))
sys.path.insert(0, os.path.join(TOP, "tools"))
import bench  # noqa: E402
import support  # noqa: E402
import test_memcheck_noise  # noqa: E402
import test_seeded_bugs  # noqa: E402

BASE = os.path.join(support.BUILD, "baseline")
CONFIGS = [
    ("upstream 3.13.5 `--with-valgrind`", os.path.join(BASE, "upstream", "python"), {}),
    ("upstream `--with-pydebug --with-valgrind`", os.path.join(BASE, "pydebug", "python"), {}),
    ("upstream, `PYTHONMALLOC=malloc`", os.path.join(BASE, "plain", "python"),
     {"PYTHONMALLOC": "malloc"}),
    ("this project", support.PYTHON, {}),
    ("this project, `PYTHONVALGRIND=pool`", support.PYTHON, {"PYTHONVALGRIND": "pool"}),
]


def noise(python, env):
    proc, errors = support.valgrind(["-c", "pass"], options=support.MEMCHECK_GATE,
                                    env=env, python=python)
    leaks = [e for e in errors if e.is_leak]
    return len(leaks), sum(e.bytes for e in leaks), len(errors) - len(leaks)


def detected(python, env, ext_dir):
    found = []
    for function, kind in sorted(test_seeded_bugs.ALL_BUGS.items()):
        _, errors = support.valgrind(
            ["-c", "import seededbugs; seededbugs.%s()" % function],
            options=[*support.MEMCHECK_GATE, "--num-callers=30"],
            env=dict(env, PYTHONPATH=ext_dir), python=python)
        if kind in test_seeded_bugs.kinds_reported_in(errors, function):
            found.append(function)
    return found


def module_wall_times(count):
    """Memcheck wall time of -m test MODULE for the first COUNT modules of
    the noise set, this project and upstream --with-valgrind alternated,
    one run at a time."""
    modules = test_memcheck_noise.test_modules()[:count]
    pairs = []
    for module in modules:
        times = []
        for python in (os.path.join(BASE, "upstream", "python"), support.PYTHON):
            start = time.perf_counter()
            support.valgrind(["-m", "test", module], options=support.MEMCHECK_GATE,
                             unset=support.UNSET_FOR_CPYTHON_TESTS, python=python)
            times.append(time.perf_counter() - start)
        pairs.append(times)
        print("%s: upstream %.1f s, this project %.1f s" % (module, *times), flush=True)
    upstream = sum(p[0] for p in pairs)
    ours = sum(p[1] for p in pairs)
    ratios = [p[1] / p[0] for p in pairs]
    return ("| Memcheck wall time, `-m test` on %d modules of the noise set, "
            "alternated | %.0f s | %.0f s | %.3f | per-module ratios %.2f-%.2f, median %.2f |"
            % (len(modules), upstream, ours, ours / upstream, min(ratios), max(ratios),
               statistics.median(ratios)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--modules", type=int, default=10,
                        help="modules timed for the wall-time row (default 10)")
    args = parser.parse_args()
    bench.build_baselines(["plain", "upstream", "pydebug"])
    rows = []
    total = len(test_seeded_bugs.ALL_BUGS)
    for name, python, env in CONFIGS:
        ext_dir = support.build_extension(
            test_seeded_bugs.SEEDED, "seededbugs",
            os.path.join(support.BUILD, "bench", "ext",
                         os.path.basename(os.path.dirname(os.path.realpath(python)))),
            python=python)
        records, nbytes, other = noise(python, env)
        found = detected(python, env, ext_dir)
        missed = sorted(set(test_seeded_bugs.ALL_BUGS) - set(found))
        rows.append("| %s | %d | %s | %d | %d of %d | %s |" % (
            name, records, format(nbytes, ","), other, len(found), total,
            ", ".join(m.replace("bug_", "") for m in missed) or "-"))
        print(rows[-1], flush=True)
    table = "\n".join([
        "| configuration | `-c pass`: loss records | bytes | other errors "
        "| seeded bugs reported at their function | missed |",
        "|---|---:|---:|---:|---:|---|"] + rows)
    wall = ""
    if args.modules > 0:
        wall = "\n".join(["| measure | upstream `--with-valgrind` | this project | ratio | notes |",
                          "|---|---:|---:|---:|---|", module_wall_times(args.modules)])
    with open(os.path.join(support.BUILD, "bench", "noise.md"), "w") as f:
        f.write(table + "\n\n" + wall + "\n")
    print(table + "\n\n" + wall)


if __name__ == "__main__":
    main()
