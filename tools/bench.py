#!/usr/bin/env python3
"""make bench: the patched build against builds of the same tarball without
the series.  Writes one Markdown table into README.md, between the lines
`<!-- bench: begin -->` and `<!-- bench: end -->`, and to
build/bench/results.md, and prints it.

  build/python tools/bench.py [--runs N] [--no-readme]

  build/python tools/bench.py --debug-hooks   only the debug hooks' rows

Builds, once, in build/baseline/:
  plain      the pristine tarball, configured without options
  upstream   the pristine tarball, configured --with-valgrind (CPython's own)
  plain-ft   the pristine tarball, configured --disable-gil
  plain-pydebug  the pristine tarball, configured --with-pydebug, when
             build/python-pydebug exists (make build-pydebug)
(and, for tools/noise_table.py, pydebug: --with-pydebug --with-valgrind)
"""

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(TOP, "build")
BASE = os.path.join(BUILD, "baseline")
README = os.path.join(TOP, "README.md")
WORKLOAD = os.path.join(TOP, "bench", "workload.py")
PATCHED = os.path.join(BUILD, "python")
PLAIN = os.path.join(BASE, "plain", "python")
UPSTREAM = os.path.join(BASE, "upstream", "python")
# The free-threaded variants (make build-ft), measured when there is one.
PATCHED_FT = os.path.join(BUILD, "python-ft")
PLAIN_FT = os.path.join(BASE, "plain-ft", "python")
# The pydebug variants (make build-pydebug), measured when there is one.
PATCHED_PYDEBUG = os.path.join(BUILD, "python-pydebug")
PLAIN_PYDEBUG = os.path.join(BASE, "plain-pydebug", "python")

BEGIN = "<!-- bench: begin -->"
END = "<!-- bench: end -->"

# Iterations: native runs take about a second; Valgrind runs fewer.
NATIVE_N = "3000000"
CALLGRIND_N = "200000"
MEMCHECK_N = "100000"

# The options of a leak-gating CI job (README): every leak kind but "still
# reachable" is an error.
MEMCHECK_GATE = ["--leak-check=full",
                 "--show-leak-kinds=definite,indirect,possible",
                 "--errors-for-leak-kinds=definite,indirect,possible",
                 "--error-exitcode=99"]


# Every measured run gets the same small environment, as pyperf gives its
# benchmarks: the variables a run needs, and one hash seed (randomisation
# changes dict and set layouts, and with them the instruction count, from
# run to run).  The caller's other variables would add noise that depends on
# the build's layout: a --with-pydebug build calls getenv("PYTHON_LLTRACE")
# at each frame, and each PY... variable costs a strncmp() whose
# instruction count depends on where that literal lands in .rodata (up to
# 0.1% of the workload with four of them).
KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR",
            "VALGRIND_LIB")
RUN_ENV = {name: os.environ[name] for name in KEPT_ENV if name in os.environ}
RUN_ENV["PYTHONHASHSEED"] = "0"


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


BASELINES = {
    "plain": [],
    "upstream": ["--with-valgrind"],
    "pydebug": ["--with-pydebug", "--with-valgrind"],
    "plain-ft": ["--disable-gil"],
    "plain-pydebug": ["--with-pydebug"],
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
    """One Callgrind run: the instructions executed (exact for a given
    binary, input and hash seed)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        sh("valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
           python, WORKLOAD, CALLGRIND_N, capture_output=True,
           env=dict(RUN_ENV, **(env or {})))
        with open(out) as f:
            text = f.read()
    return int(re.search(r"^summary:\s+(\d+)", text, re.M).group(1))


def free_threaded_row():
    """Callgrind on build/python-ft against a plain --disable-gil build:
    mimalloc's functions installed at the first allocation, and the thread
    checkers' events (each a load and a branch not taken natively)."""
    plain_ft = callgrind_instructions(PLAIN_FT)
    patched_ft = callgrind_instructions(PATCHED_FT)
    return ("| Callgrind, free-threaded build (`--disable-gil`): "
            "instructions, workload %s | %s | %s | %.4f | mimalloc's "
            "functions installed at the first allocation; the thread "
            "checkers' events not taken |" % (
                CALLGRIND_N, format(plain_ft, ","), format(patched_ft, ","),
                patched_ft / plain_ft))


def run_measured(cmd, env):
    """Run CMD; return (wall seconds, peak resident set in MB of the process)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit("bench: %s exited with %d" % (" ".join(cmd), proc.returncode))
    return elapsed, usage.ru_maxrss / 1024


def alternated(commands, runs):
    """Run the (command, extra env) pairs in turn, A B C A B C ...; return
    per command the list of (seconds, peak MB)."""
    results = [[] for _ in commands]
    for _ in range(runs):
        for i, (cmd, env) in enumerate(commands):
            results[i].append(run_measured(cmd, dict(RUN_ENV, **env)))
    return results


def describe(a, b):
    """Median of the per-pair ratios b/a, and their interquartile range."""
    ratios = sorted(y / x for x, y in zip(a, b))
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return statistics.median(ratios), q1, q3


def leak_gate_pass(python):
    """The leak-gating command on `-c pass`: (exit status, bytes definitely,
    indirectly or possibly lost, number of loss records)."""
    proc = subprocess.run(["valgrind"] + MEMCHECK_GATE + [python, "-c", "pass"],
                          capture_output=True, text=True, env=RUN_ENV)
    lost = 0
    for kind in ("definitely", "indirectly", "possibly"):
        m = re.search(r"%s lost: ([\d,]+) bytes" % kind, proc.stderr)
        lost += int(m.group(1).replace(",", "")) if m else 0
    records = len(re.findall(r"are (?:definitely|indirectly|possibly) lost in loss record",
                             proc.stderr))
    return proc.returncode, lost, records


def debug_hooks_rows():
    """Callgrind under CPython's debug hooks: they decide at their first
    use, and natively run CPython's own functions from then on."""
    rows = []
    debug = {"PYTHONMALLOC": "debug"}
    plain = callgrind_instructions(PLAIN, debug)
    patched = callgrind_instructions(PATCHED, debug)
    rows.append("| Callgrind, `PYTHONMALLOC=debug`: instructions, workload %s "
                "| %s | %s | %.4f | the debug hooks decide at their first use |" % (
                    CALLGRIND_N, format(plain, ","), format(patched, ","),
                    patched / plain))
    if os.path.exists(PATCHED_PYDEBUG):
        plain = callgrind_instructions(PLAIN_PYDEBUG)
        patched = callgrind_instructions(PATCHED_PYDEBUG)
        rows.append("| Callgrind, `--with-pydebug` build: instructions, workload %s "
                    "| %s | %s | %.4f | baseline: `--with-pydebug` alone |" % (
                        CALLGRIND_N, format(plain, ","), format(patched, ","),
                        patched / plain))
    return rows


def table(args):
    rows = []
    mb = lambda runs: statistics.median(r[1] for r in runs)
    secs = lambda runs: [r[0] for r in runs]

    plain = callgrind_instructions(PLAIN)
    patched = callgrind_instructions(PATCHED)
    upstream = callgrind_instructions(UPSTREAM)
    rows.append("| Callgrind: instructions, workload %s | %s | %s | %.4f "
                "| upstream `--with-valgrind`: %s (%.3f), as it uses malloc() under Callgrind |" % (
                    CALLGRIND_N, format(plain, ","), format(patched, ","), patched / plain,
                    format(upstream, ","), upstream / plain))

    if os.path.exists(PATCHED_FT):
        rows.append(free_threaded_row())

    rows += debug_hooks_rows()

    native = alternated([([PLAIN, WORKLOAD, NATIVE_N], {}),
                         ([PATCHED, WORKLOAD, NATIVE_N], {})], args.runs)
    ratio, lo, hi = describe(secs(native[0]), secs(native[1]))
    rows.append("| natively: wall time, workload %s, median of %d alternated pairs "
                "| %.3f s | %.3f s | %.3f | pair ratios IQR %.3f-%.3f |" % (
                    NATIVE_N, args.runs, statistics.median(secs(native[0])),
                    statistics.median(secs(native[1])), ratio, lo, hi))

    status_up, lost_up, records_up = leak_gate_pass(UPSTREAM)
    status, lost, records = leak_gate_pass(PATCHED)
    rows.append("| Memcheck: leak-gating command on `-c pass`, bytes lost "
                "(loss records) [exit status] | %s (%d) [%d] | %s (%d) [%d] | | "
                "baseline: upstream `--with-valgrind` |" % (
                    format(lost_up, ","), records_up, status_up,
                    format(lost, ","), records, status))

    mc_runs = max(3, args.runs // 3)
    memcheck = ["valgrind", "-q", "--leak-check=no"]
    up, malloc_mode, pool = alternated(
        [(memcheck + [UPSTREAM, WORKLOAD, MEMCHECK_N], {}),
         (memcheck + [PATCHED, WORKLOAD, MEMCHECK_N], {}),
         (memcheck + [PATCHED, WORKLOAD, MEMCHECK_N], {"PYTHONVALGRIND": "pool"})], mc_runs)
    for name, runs in (("malloc mode", malloc_mode), ("pool mode", pool)):
        ratio, lo, hi = describe(secs(up), secs(runs))
        rows.append("| Memcheck, %s: wall time, workload %s, median of %d alternated runs "
                    "| %.2f s | %.2f s | %.3f | baseline: upstream `--with-valgrind`; "
                    "ratios IQR %.3f-%.3f |" % (
                        name, MEMCHECK_N, mc_runs, statistics.median(secs(up)),
                        statistics.median(secs(runs)), ratio, lo, hi))
    for name, runs in (("malloc mode", malloc_mode), ("pool mode", pool)):
        rows.append("| Memcheck, %s: peak memory of the process, same runs "
                    "| %.0f MB | %.0f MB | %.2f | baseline: upstream `--with-valgrind` |" % (
                        name, mb(up), mb(runs), mb(runs) / mb(up)))

    valgrind = sh("valgrind", "--version", capture_output=True, text=True).stdout.strip()
    command = "`make bench`" if args.runs == 20 else \
        "`build/python tools/bench.py --runs %d`" % args.runs
    note = ("%s, %s: %d CPUs, load average %.1f at the start and %.1f at the end, "
            "%s, %s, `PYTHONHASHSEED=0`." % (
                command, time.strftime("%Y-%m-%d"), os.cpu_count(), args.load,
                os.getloadavg()[0], valgrind, platform.python_compiler()))
    return "\n".join(["| measure | without the series | with the series | ratio | notes |",
                      "|---|---:|---:|---:|---|"] + rows + ["", note])


def write_readme(text):
    with open(README) as f:
        readme = f.read()
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise SystemExit("bench: README.md has no %s ... %s lines" % (BEGIN, END))
    with open(README, "w") as f:
        f.write(readme[:start + len(BEGIN)] + "\n" + text + "\n" + readme[end:])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20,
                        help="native wall-time pairs (default 20; Memcheck: a third)")
    parser.add_argument("--no-readme", action="store_true",
                        help="do not rewrite README.md's table")
    parser.add_argument("--debug-hooks", action="store_true",
                        help="print only the debug hooks' Callgrind rows")
    parser.add_argument("--free-threaded", action="store_true",
                        help="print only the free-threaded Callgrind row")
    args = parser.parse_args()
    pydebug = ("plain-pydebug",) if os.path.exists(PATCHED_PYDEBUG) else ()
    if args.free_threaded:
        build_baselines(("plain-ft",))
        print(free_threaded_row())
        return
    if args.debug_hooks:
        build_baselines(("plain",) + pydebug)
        print("\n".join(debug_hooks_rows()))
        return
    build_baselines(("plain", "upstream") + pydebug
                    + (("plain-ft",) if os.path.exists(PATCHED_FT) else ()))
    args.load = os.getloadavg()[0]
    text = table(args)
    os.makedirs(os.path.join(BUILD, "bench"), exist_ok=True)
    with open(os.path.join(BUILD, "bench", "results.md"), "w") as f:
        f.write(text + "\n")
    if not args.no_readme:
        write_readme(text)
    print(text)


if __name__ == "__main__":
    main()
