#!/usr/bin/env python3
"""The thread checkers on CPython's own tests: the modules that CPython's CI
runs under ThreadSanitizer (Lib/test/libregrtest/tsan.py's TSAN_TESTS),
each under Helgrind, DRD and Memcheck on build/python-ft.

  build/python tools/thread_checkers.py [--tools helgrind,drd,memcheck]
      [--modules test_a,test_b] [--timeout SECONDS] [--table]
  build/python tools/thread_checkers.py --before-after
  (--python build/obj-ft-copy/python: another free-threaded interpreter)

Each run is `build/python-ft -m test --valgrind --valgrind-tool TOOL -j1
MODULE`, with regrtest's per-file results (PYTHONMEMCHECKRESULTS).  A result
is kept in tests/threads/results/TOOL/MODULE.json and a module whose result
is there is skipped: the run is resumable, and its results are committed
as they come.  A module that regrtest's --timeout stops is recorded with
the time it was given, and runs again without its slow cases (SLOW_CASES)
when it has any.  --table only writes tests/threads/README.md from
the results (make bench-threads does both).

--before-after counts the reports on tests/threads/two_threads.py (two
threads of pure Python: every report is CPython's own) and
more_threads.py under each checker, without the runtime's annotations
(PYTHONVALGRIND_SYNC=off) and with them, into results/before-after.json."""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

from memcheck.command import DRD_VERDICT_OPTIONS  # build/python's

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON_FT = os.path.join(TOP, "build", "python-ft")
RESULTS = os.path.join(TOP, "tests", "threads", "results")
TABLE = os.path.join(TOP, "tests", "threads", "README.md")
TOOLS = ("helgrind", "drd", "memcheck")
TITLES = {"helgrind": "Helgrind", "drd": "DRD", "memcheck": "Memcheck"}


def tsan_tests():
    """3.13.5's TSAN_TESTS, read from the build's own libregrtest."""
    out = subprocess.run(
        [PYTHON_FT, "-c", "from test.libregrtest.tsan import TSAN_TESTS; "
         "print(*TSAN_TESTS)"], check=True, capture_output=True, text=True)
    return out.stdout.split()


# The cases left out of a module that a tool does not finish in time: the
# module is listed with the time it was given, and runs again without them.
# (When regrtest's timeout stops a worker, faulthandler dumps every thread's
# frames without stopping the threads: that dump races with them, by design.)
SLOW_CASES = {
    # Six classes x 20 threads calling every method during shutdown (and
    # during an immediate shutdown).
    "test_queue": ("*_all_methods_in_many_threads",),
    # Threads that make and collect weak references for thousands of rounds.
    "test_weakref": ("*test_threaded_weak_*",),
    # A thread recursing to the limit in except blocks, from a subprocess.
    "test_threading": ("*test_print_exception_gh_102056",),
    # Writes that a signal must interrupt: under Helgrind they waited past
    # the timeout (test_interrupted_write_text, then, without it,
    # test_interrupted_write_unbuffered).
    "test_io": ("*test_interrupted_write*",),
    "test_socket": ("*test_sendall_interrupted*",),
    # Signals sent as fast as they can be while a timer fires: under DRD a
    # SIGALRM reached the process with no handler and killed it, in
    # test_stress_delivery_simultaneous, then, without it,
    # test_stress_modifying_handlers (Valgrind 3.19: "sigprocmask: unknown
    # 'how' field").
    "test_signal": ("*.StressTest.*",),
}


REPORT_LINES = 400


def result_path(tool, module, subset=False):
    return os.path.join(RESULTS, tool,
                        module + (".subset" if subset else "") + ".json")


def run_one(tool, module, timeout, ignore=()):
    """Run MODULE under TOOL, without the cases that IGNORE's patterns
    match; return its record."""
    with tempfile.TemporaryDirectory() as results:
        env = dict(os.environ, PYTHONMEMCHECKRESULTS=results,
                   PYTHONHASHSEED="0")
        env.pop("PYTHONMEMCHECKTOOL", None)
        cmd = [PYTHON_FT, "-m", "test", "--valgrind", "--valgrind-tool", tool,
               "-j1", "--timeout", str(timeout), module]
        cmd += [arg for pattern in ignore for arg in ("--ignore", pattern)]
        started = time.monotonic()
        proc = subprocess.run(cmd, env=env, cwd=TOP, capture_output=True,
                              text=True)
        wall = time.monotonic() - started
        path = os.path.join(results, module + ".json")
        regrtest = {}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                regrtest = json.load(f)
    output = proc.stdout + proc.stderr
    # No result: regrtest's timeout stopped the worker, or it died (a
    # signal the tool's emulation delivers where the CPU would not).
    killed = re.search(r"worker non-zero exit code \(Exit code -\d+ \((\w+)\)",
                       output)
    # Past the timeout, faulthandler's dump of every thread's frames runs
    # while the threads do: a crash then is the dump's, not a signal of
    # the tool's.
    if killed and wall >= timeout:
        killed = None
    timed_out = (regrtest.get("state") is None and not killed) or (
        "timeout" in (regrtest.get("state_text") or "").lower())
    return {
        "module": module,
        "tool": tool,
        "python": os.path.relpath(PYTHON_FT, TOP),
        "wall_seconds": round(wall, 1),
        "timeout": timeout,
        "timed_out": timed_out,
        "killed_by": killed.group(1) if killed else None,
        "ignored": list(ignore),
        "returncode": proc.returncode,
        "state": regrtest.get("state"),
        "state_text": regrtest.get("state_text"),
        "errors": regrtest.get("errors"),
        "leaked_bytes": regrtest.get("leaked_bytes", 0),
        # Findings of CPython's known races (valgrind_known.txt), apart.
        "known": regrtest.get("known_findings", 0),
        "failed_cases": regrtest.get("failed_cases", {}),
        # The report's start: DRD lists every other segment of a conflict.
        "report": regrtest.get("memcheck", [])[:REPORT_LINES],
        "tail": output[-3000:],
    }


def load(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def run_and_keep(tool, module, timeout, subset):
    path = result_path(tool, module, subset)
    ignore = SLOW_CASES[module] if subset else ()
    print(f"{tool} {module}{' (subset)' if subset else ''} ...", flush=True)
    record = run_one(tool, module, timeout, ignore)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
    print(f"  {record['wall_seconds']:.0f} s, "
          f"{record['errors']} error(s), {record['state_text']}", flush=True)
    write_table()
    return record


def run(tools, modules, timeout):
    for module in modules:
        for tool in tools:
            record = load(result_path(tool, module))
            if record is None:
                record = run_and_keep(tool, module, timeout, subset=False)
            if ((record["timed_out"] or record.get("killed_by"))
                    and module in SLOW_CASES
                    and load(result_path(tool, module, True)) is None):
                run_and_keep(tool, module, timeout, subset=True)


SCRIPTS = ("two_threads.py", "more_threads.py")


def count_reports(tool, script, sync):
    """The reports (Valgrind's error contexts) of TOOL on SCRIPT."""
    with tempfile.TemporaryDirectory() as tmp:
        xml = os.path.join(tmp, "out.xml")
        env = dict(os.environ, PYTHONHASHSEED="0", PYTHONVALGRIND_SYNC=sync)
        started = time.monotonic()
        options = list(DRD_VERDICT_OPTIONS) if tool == "drd" else []
        subprocess.run(["valgrind", "--tool=" + tool, *options, "--xml=yes",
                        "--xml-file=" + xml, PYTHON_FT,
                        os.path.join(TOP, "tests", "threads", script)],
                       env=env, capture_output=True, check=True)
        seconds = time.monotonic() - started
        errors = ET.parse(xml).getroot().findall("error")
    return {"reports": len(errors), "seconds": round(seconds, 1)}


def before_after():
    """Resumable too: a count already in results/before-after.json is kept
    (delete the file to measure again)."""
    path = os.path.join(RESULTS, "before-after.json")
    results = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            results = json.load(f)
    os.makedirs(RESULTS, exist_ok=True)
    for script in SCRIPTS:
        for tool in ("helgrind", "drd"):
            for sync in ("off", "on"):
                key = f"{script} {tool} {sync}"
                if key in results:
                    continue
                print(key, "...", flush=True)
                results[key] = count_reports(tool, script, sync)
                print("  ", results[key], flush=True)
                with open(path + ".tmp", "w", encoding="utf-8") as f:
                    json.dump(results, f, indent=1)
                    f.write("\n")
                os.replace(path + ".tmp", path)
                write_table()


def before_after_lines():
    path = os.path.join(RESULTS, "before-after.json")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        results = json.load(f)
    lines = ["", "Reports of CPython's own, without the runtime's annotations "
             "(`PYTHONVALGRIND_SYNC=off`) and with them (`--before-after`):",
             "", "| script | tool | without | with |", "|---|---|---:|---:|"]
    for script in SCRIPTS:
        for tool in ("helgrind", "drd"):
            off = results.get(f"{script} {tool} off")
            on = results.get(f"{script} {tool} on")
            if off and on:
                lines.append(f"| `{script}` | {TITLES[tool]} | "
                             f"{off['reports']} ({off['seconds']:.0f} s) | "
                             f"{on['reports']} ({on['seconds']:.0f} s) |")
    return lines


def cell(record, subset=None):
    if record is None:
        return "not run yet"
    minutes = record["wall_seconds"] / 60
    if record["timed_out"] or record.get("killed_by"):
        text = (f"stopped at {record['timeout'] // 60} min"
                if record["timed_out"] else
                f"killed by {record['killed_by']} at {minutes:.1f} min")
        if subset is None:
            return text + f", {record['errors'] or 0} reports by then"
        return (text + "; without " + ", ".join(
                f"`{p.lstrip('*')}`" for p in subset["ignored"])
                + ": " + cell(subset))
    errors = record["errors"]
    text = f"{errors if errors is not None else '?'}"
    if record.get("known"):
        text += f" + {record['known']} known"
    text += f" ({minutes:.1f} min)"
    if record.get("leaked_bytes"):
        text += f", {record['leaked_bytes']} bytes leaked"
    if record["state"] != "PASSED":
        # The tests' own result, e.g. a system call the tool lacks.
        text += f", test {record['state_text']}"
    return text


def write_table():
    modules = sorted({name[:-5] for tool in TOOLS
                      if os.path.isdir(os.path.join(RESULTS, tool))
                      for name in os.listdir(os.path.join(RESULTS, tool))
                      if name.endswith(".json")
                      and not name.endswith(".subset.json")}
                     | (set(tsan_tests()) if os.path.exists(PYTHON_FT)
                        else set()))
    records, subsets = {}, {}
    for tool in TOOLS:
        for module in modules:
            record = load(result_path(tool, module))
            if record is not None:
                records[tool, module] = record
            subset = load(result_path(tool, module, True))
            if subset is not None:
                subsets[tool, module] = subset
    lines = [
        "# CPython's ThreadSanitizer modules under the thread checkers",
        "",
        "Generated by `build/python tools/thread_checkers.py` (`make "
        "bench-threads`) from `results/`: each module of 3.13.5's "
        "`TSAN_TESTS` on `build/python-ft`, `python -m test --valgrind "
        "--valgrind-tool TOOL -j1 MODULE`.  A cell is the number of "
        "reports (errors) and the worker's wall time; Memcheck's time is "
        "the same module under the default tool, for comparison.",
        "",
        "| module | Helgrind | DRD | Memcheck |",
        "|---|---:|---:|---:|",
    ]
    for module in modules:
        lines.append(f"| {module} | " + " | ".join(
            cell(records.get((tool, module)), subsets.get((tool, module)))
            for tool in TOOLS) + " |")
    for tool in ("helgrind", "drd"):
        # A module stopped by the timeout counts by the run of its subset.
        done = [subsets.get((t, m), r) for (t, m), r in records.items()
                if t == tool]
        done = [r for r in done
                if not r["timed_out"] and not r.get("killed_by")]
        clean = [r for r in done if r["errors"] == 0]
        known = sum(r.get("known", 0) for r in done)
        lines += ["", f"{TITLES[tool]}: {len(clean)} of {len(done)} "
                  "finished modules with no report (of "
                  f"{len(modules)} modules)"
                  + (f"; {known} known (CPython's races listed in "
                     "`valgrind_known.txt`, tests/suite/FINDINGS.md)"
                     if known else "") + "."]
    lines += before_after_lines()
    with open(TABLE, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main():
    global PYTHON_FT
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--modules", default="")
    parser.add_argument("--timeout", type=int, default=2400)
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--before-after", action="store_true")
    parser.add_argument("--python", default=PYTHON_FT,
                        help="the free-threaded interpreter (default "
                        "build/python-ft; a copy of build/obj-ft keeps a "
                        "long run on one build while build/ is rebuilt)")
    args = parser.parse_args()
    PYTHON_FT = os.path.abspath(args.python)
    if args.table:
        write_table()
        return
    if args.before_after:
        before_after()
        return
    tools = args.tools.split(",")
    bad = [t for t in tools if t not in TOOLS]
    if bad:
        sys.exit(f"thread_checkers.py: unknown tool {bad[0]!r} "
                 f"(expected {', '.join(TOOLS)})")
    modules = args.modules.split(",") if args.modules else tsan_tests()
    run(tools, modules, args.timeout)


if __name__ == "__main__":
    main()
