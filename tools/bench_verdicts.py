#!/usr/bin/env python3
"""make bench-verdicts: what a verdict per test costs.  For each suite, the
plain leak-gating Memcheck run of it against "python -m memcheck" at -j1
and -j2, alternated (plain, -j1, -j2, then the other way round), wall
times as medians.  Writes one Markdown table into README.md between
`<!-- bench-verdicts: begin -->` and `<!-- bench-verdicts: end -->`, and
to build/bench/verdicts.md, and prints it.

  build/python tools/bench_verdicts.py [--rounds N] [--no-readme] [SUITE...]

Findings are compared as sets of (kind, site): a leak's site is its stack
up to the extension's first frame (memcheck.report.Finding.site_key).
Every leak kind but "still reachable" counts, in both.
"""

import argparse
import glob
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests"))
import support  # noqa: E402
from test_real_extensions import SUITES, DEBIAN_SITE, realext  # noqa: E402
from memcheck.command import MEMCHECK_GATE, valgrind_command  # noqa: E402
from memcheck.report import Log  # noqa: E402

README = os.path.join(TOP, "README.md")
OUT = os.path.join(TOP, "build", "bench", "verdicts.md")
BEGIN = "<!-- bench-verdicts: begin -->"
END = "<!-- bench-verdicts: end -->"
EXAMPLE = os.path.join(TOP, "examples", "extension-ci")


def suites():
    """name -> (framework, its arguments, working directory, PYTHONPATH)."""
    ext = support.build_extension(os.path.join(EXAMPLE, "wordstats.c"),
                                  "wordstats")
    tree, path = realext.build("multidict", support.PYTHON)
    return {
        "CPython test_json": ("unittest", ["test.test_json"], TOP, ""),
        "multidict 6.4.3 (pytest)": ("pytest", SUITES["multidict"][1:], tree,
                                     path + os.pathsep + DEBIAN_SITE),
        "example extension": ("unittest", ["test_wordstats"], EXAMPLE, ext),
    }


def run(cmd, cwd, pythonpath):
    env = {k: v for k, v in os.environ.items()
           if k not in support.UNSET_FOR_CPYTHON_TESTS}
    env["PYTHONPATH"] = pythonpath
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                          text=True)
    return time.monotonic() - start, proc


def sites(log):
    return {(f.kind, f.site_key)
            for f in log.findings + [f for _, fs in log.first_use for f in fs]}


def measure(name, framework, args, cwd, pythonpath, rounds, tmp):
    xml = os.path.join(tmp, "out.xml")
    commands = {
        "plain": valgrind_command([support.PYTHON, "-m", framework, *args],
                                  MEMCHECK_GATE, xml_file=xml),
        "j1": [support.PYTHON, "-m", "memcheck", "--xml-file", xml,
               framework, *args],
        "j2": [support.PYTHON, "-m", "memcheck", "-j2", "--xml-file", xml,
               framework, *args],
    }
    # Once natively first: no timed run compiles the bytecode of the
    # standard library or the suite (a fresh build's is out of date).
    run([support.PYTHON, "-m", framework, *args], cwd, pythonpath)
    times = {key: [] for key in commands}
    found = {}
    tests = 0
    for r in range(rounds):
        order = list(commands) if r % 2 == 0 else list(commands)[::-1]
        for key in order:
            for old in glob.glob(os.path.join(tmp, "out*.xml")):
                os.remove(old)
            seconds, proc = run(commands[key], cwd, pythonpath)
            times[key].append(seconds)
            print(f"  {name}: {key} {seconds:.1f} s", file=sys.stderr)
            if key == "j2":
                # out-K.xml of each process that ran (one a unit of tests
                # at most: a single class runs in one).
                logs = [Log(path) for path in
                        sorted(glob.glob(os.path.join(tmp, "out-*.xml")))]
            else:
                logs = [Log(xml)]
            found[key] = set().union(*map(sites, logs))
            if key == "j1":
                tests = len(logs[0].order)
                if not tests:
                    # A suite that no longer runs would time its failure.
                    sys.exit(f"bench-verdicts: {name}: no test ran:\n"
                             f"{(proc.stdout + proc.stderr)[-3000:]}")
    return tests, {k: statistics.median(v) for k, v in times.items()}, \
        {k: (min(v), max(v)) for k, v in times.items()}, found


def table(results, rounds):
    lines = [
        "| suite | tests | plain gated run | `python -m memcheck` -j1 | "
        "-j2 | findings (plain / verdicts) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, (tests, med, spread, found) in results.items():
        same = "same" if found["plain"] == found["j1"] == found["j2"] \
            else "differ"
        lines.append(
            f"| {name} | {tests} | {med['plain']:.0f} s | "
            f"{med['j1']:.0f} s ({med['j1'] / med['plain']:.2f}×) | "
            f"{med['j2']:.0f} s ({med['j2'] / med['j1']:.2f}× of -j1) | "
            f"{len(found['plain'])} / {len(found['j1'])}, {same} |")
    spreads = "; ".join(
        f"{name}: " + ", ".join(f"{k} {lo:.0f}-{hi:.0f} s"
                                for k, (lo, hi) in spread.items())
        for name, (_, _, spread, _) in results.items())
    load = os.getloadavg()[0]
    lines += ["", f"`make bench-verdicts`, {time.strftime('%Y-%m-%d')}: "
              f"medians of {rounds} alternated runs each, "
              f"{os.cpu_count()} CPUs, load average {load:.1f} at the end, "
              f"{platform.python_implementation()} "
              f"{platform.python_version()}. Ranges: {spreads}."]
    return "\n".join(lines)


def write_readme(text):
    with open(README, encoding="utf-8") as f:
        readme = f.read()
    if BEGIN not in readme or END not in readme:
        sys.exit(f"bench-verdicts: README.md has no {BEGIN} ... {END}")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(README, "w", encoding="utf-8") as f:
        f.write(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("suite", nargs="*")
    ns = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("bench-verdicts: valgrind is not installed")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in suites().items():
            if ns.suite and not any(s in name for s in ns.suite):
                continue
            results[name] = measure(name, *spec, ns.rounds, tmp)
    text = table(results, ns.rounds)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    if not ns.no_readme and not ns.suite:
        write_readme(text)
    print(text)


if __name__ == "__main__":
    main()
