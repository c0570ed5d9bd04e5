"""make check: the project's test suites, then CPython's own tests on the
patched build.  Run by build/python.  Ends with one line:
N passed, N failed, N skipped.

  build/python tests/run.py [--quick]     --quick skips CPython's tests
  build/python tests/run.py --quick test_x test_y    only these suites
  build/python tests/run.py --suite test_x    one suite, in this process
  build/python-pydebug tests/run.py --quick --this-build test_x
                                  only on the interpreter that runs this
                                  (not also on the free-threaded build or
                                  under the newest Valgrind)
"""

import concurrent.futures
import datetime
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

import support

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
PYTHON = support.PYTHON
# The free-threaded build of the same source (make build-ft), if there is one.
PYTHON_FT = os.path.join(support.BUILD, "python-ft")

# The suites that also run on the free-threaded build, when there is one.
FREE_THREADED_SUITES = ["test_seeded_bugs", "test_memcheck_noise"]

# The suites that also run under the newest Valgrind (make valgrind-newest,
# valgrind.conf), when it is built: the seeded bugs, the noise checks and
# the example's verdicts.  test_valgrind_versions compares the two.
NEWEST_VALGRIND_SUITES = ["test_seeded_bugs", "test_memcheck_noise",
                          "test_verdicts"]

# CPython's tests that exercise what the series touches.  Not under Valgrind.
CPYTHON_TESTS = ["test_valgrind", "test_capi", "test_embed", "test_gc",
                 "test_sys", "test_tracemalloc", "test_cmd_line",
                 "test_regrtest"]
# On the free-threaded build, those of its allocator and GC (test_regrtest,
# the slowest, runs on build/python: libregrtest is the same).
CPYTHON_TESTS_FT = ["test_valgrind", "test_capi", "test_embed", "test_gc",
                    "test_sys", "test_tracemalloc"]

# One slice of CPython's whole suite under --valgrind, chosen by the date:
# --shard K/80, half of a shard of make valgrindtest-all (40), so that every
# test file runs in 80 days and make check stays under its hour.
# With regrtest's default resources, not -uall: the cpu resource makes a
# few files take most of an hour under Memcheck (tests/suite/README.md).
SUITE_SHARDS = 80

# The longest suites, longest first: started first, so that two workers do
# not end with one long suite running alone (each variant of a suite, on
# the free-threaded build or under the newest Valgrind, right after it).
LONGEST_FIRST = ["test_memcheck_noise", "test_real_extensions",
                 "test_thread_checkers", "test_seeded_races",
                 "test_verdicts", "test_fixture_scopes"]
SHARD_ENV = "VALGRINDTEST_SHARD"



class OutcomeResult(unittest.TextTestResult):
    """Counts each test once, as passed, failed or skipped: a test with a
    failing subtest fails (unittest counts each failing subtest), one with a
    skipped subtest and no failure is skipped, as unittest reports it.  An
    error in a class or module fixture counts as one failure."""

    RANK = {"skipped": 0, "passed": 1, "failed": 2}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcomes = {}
        # Wall seconds per test class, its class fixtures included: the time
        # from the previous test's end to each of its tests' ends.
        self.class_seconds = {}
        self._last_end = time.monotonic()

    def stopTest(self, test):
        super().stopTest(test)
        now = time.monotonic()
        name = "%s.%s" % (type(test).__module__, type(test).__name__)
        self.class_seconds[name] = (self.class_seconds.get(name, 0)
                                    + now - self._last_end)
        self._last_end = now

    def _note(self, test, outcome):
        test_id = getattr(test, "test_case", test).id()   # a subtest's test
        if self.RANK[outcome] >= self.RANK[self.outcomes.get(test_id, outcome)]:
            self.outcomes[test_id] = outcome

    def addSuccess(self, test):
        super().addSuccess(test)
        self._note(test, "passed")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._note(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._note(test, "failed")

    def addError(self, test, err):
        super().addError(test, err)
        self._note(test, "failed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._note(test, "failed")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._note(test, "skipped")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._note(test, "failed")

    def counts(self):
        values = list(self.outcomes.values())
        return tuple(values.count(k) for k in ("passed", "failed", "skipped"))


def suite_main(module):
    """--suite MODULE: run it, then print RESULT passed failed skipped."""
    sys.path.insert(0, HERE)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=OutcomeResult)
    result = unittest.main(module=module, argv=[sys.argv[0]], exit=False,
                           testRunner=runner).result
    for name, seconds in result.class_seconds.items():
        print("CLASS-SECONDS %s %.1f" % (name, seconds))
    print("RESULT %d %d %d" % result.counts(), flush=True)


def run_suite(module, python=PYTHON, valgrind=None):
    """Run one tests/test_*.py in a child process of PYTHON, under the
    Valgrind VALGRIND (a path; None: the one on PATH); return (passed,
    failed, skipped, output, wall seconds, {test class: wall seconds})."""
    started = time.monotonic()
    env = dict(os.environ)
    if valgrind is not None:
        env["PATH"] = os.path.dirname(valgrind) + os.pathsep + env["PATH"]
    p, f, s, out, classes = run_suite_process(module, python, env)
    return p, f, s, out, time.monotonic() - started, classes


def run_suite_process(module, python, env):
    proc = subprocess.run([python, os.path.abspath(__file__), "--suite", module],
                          cwd=HERE, capture_output=True, text=True, env=env)
    out = proc.stdout + proc.stderr
    classes = {}
    for line in proc.stdout.splitlines():
        if line.startswith("CLASS-SECONDS "):
            name, seconds = line.split()[1:]
            classes[name] = float(seconds)
        elif line.startswith("RESULT "):
            passed, failed, skipped = map(int, line.split()[1:])
            if proc.returncode != 0 and failed == 0:
                failed = 1      # the process failed outside any test
            return passed, failed, skipped, out, classes
    return 0, 1, 0, out, classes    # no result: the process crashed


def todays_shard():
    """The shard of the suite that make check runs: $VALGRINDTEST_SHARD, or
    the day's."""
    text = os.environ.get(SHARD_ENV)
    if not text:
        return datetime.date.today().toordinal() % SUITE_SHARDS + 1
    if not text.isdigit() or not 1 <= int(text) <= SUITE_SHARDS:
        sys.exit("tests/run.py: %s must be a shard from 1 to %d, got %r"
                 % (SHARD_ENV, SUITE_SHARDS, text))
    return int(text)


def longest_first(run):
    """Sort key of a (module, python, valgrind) run."""
    module = run[0]
    if module in LONGEST_FIRST:
        return LONGEST_FIRST.index(module), module
    return len(LONGEST_FIRST), module


def print_slowest(class_seconds, count=10):
    """The test classes that took longest, as regrtest prints its slowest
    tests: what to look at when make check nears its hour."""
    if not class_seconds:
        return
    total = sum(seconds for seconds, name in class_seconds)
    print("%d slowest test classes (of %s in all, on %d workers):"
          % (min(count, len(class_seconds)), minutes(total),
             os.cpu_count() or 2))
    for seconds, name in sorted(class_seconds, reverse=True)[:count]:
        print("  %s  %s" % (minutes(seconds), name))


def minutes(seconds):
    return "%d min %02d s" % divmod(round(seconds), 60)


def run_cpython_tests(python=PYTHON, args=CPYTHON_TESTS):
    """regrtest on PYTHON with ARGS, on every CPU; return (passed, failed,
    skipped) test cases, from its JUnit XML."""
    env = {k: v for k, v in os.environ.items()
           if k not in support.UNSET_FOR_CPYTHON_TESTS}
    with tempfile.TemporaryDirectory() as tmp:
        junit = os.path.join(tmp, "junit.xml")
        cmd = [python, "-m", "test", "-j%d" % (os.cpu_count() or 2),
               "--junit-xml", junit, *args]
        print("$", os.path.relpath(python), " ".join(cmd[1:]), flush=True)
        proc = subprocess.run(cmd, env=env)
        if not os.path.exists(junit):
            return 0, 1
        cases = ET.parse(junit).getroot().iter("testcase")
        passed = failed = skipped = 0
        for case in cases:
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
        if proc.returncode != 0 and failed == 0:
            failed = 1      # a crash or a worker failure outside any test case
        return passed, failed, skipped


def main():
    # Started in the background by a shell without job control, the run
    # inherits SIGINT ignored, and so would every child: CPython's
    # test_regrtest interrupts itself with SIGINT.  A handler here is reset
    # to the default in each child at exec.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if sys.argv[1:2] == ["--suite"]:
        suite_main(sys.argv[2])
        return 0
    quick = "--quick" in sys.argv
    modules = sorted(f[:-3] for f in os.listdir(HERE)
                     if f.startswith("test_") and f.endswith(".py"))
    chosen = [a for a in sys.argv[1:] if not a.startswith("-")]
    unknown = sorted(set(chosen) - set(modules))
    if unknown:
        sys.exit("tests/run.py: no suite %s (known: %s)"
                 % (", ".join(unknown), " ".join(modules)))
    modules = chosen or modules
    passed = failed = skipped = 0
    class_seconds = []
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        # Each suite's line as it ends: a slow suite does not hold back the
        # results of the others.
        runs = [(m, PYTHON, None) for m in modules]
        this_build = "--this-build" in sys.argv
        if os.path.exists(PYTHON_FT) and not this_build:
            runs += [(m, PYTHON_FT, None) for m in modules
                     if m in FREE_THREADED_SUITES]
        newest = support.newest_valgrind()
        if newest is not None and not this_build:
            runs += [(m, PYTHON, newest) for m in modules
                     if m in NEWEST_VALGRIND_SUITES]
        runs.sort(key=longest_first)
        futures = {pool.submit(run_suite, *run): run for run in runs}
        for future in concurrent.futures.as_completed(futures):
            (module, python, valgrind), (p, f, s, out, wall, classes) = (
                futures[future], future.result())
            status = "ok" if f == 0 else "FAILED"
            on = "" if python == PYTHON else " on " + os.path.relpath(python)
            if valgrind is not None:
                on += " under " + os.path.relpath(valgrind)
            print("tests/%s.py%s: %d passed, %d failed, %d skipped: %s (%s)"
                  % (module, on, p, f, s, status, minutes(wall)), flush=True)
            class_seconds += [(seconds, name + on)
                              for name, seconds in classes.items()]
            if f:
                print(out)
            passed += p
            failed += f
            skipped += s
    if not quick:
        builds = [PYTHON] + ([PYTHON_FT] if os.path.exists(PYTHON_FT) else [])
        for python in builds:
            started = time.monotonic()
            tests = CPYTHON_TESTS if python == PYTHON else CPYTHON_TESTS_FT
            p, f, s = run_cpython_tests(python, tests)
            print("CPython tests on %s (%s): %d passed, %d failed, %d skipped"
                  " (%s)" % (os.path.relpath(python), " ".join(tests),
                            p, f, s, minutes(time.monotonic() - started)),
                  flush=True)
            passed += p
            failed += f
            skipped += s
        # build/obj/python, as make valgrindtest-all: test_inspect starts
        # the interpreter's directory's stdlib, which a symlink lacks.
        shard = "%d/%d" % (todays_shard(), SUITE_SHARDS)
        started = time.monotonic()
        p, f, s = run_cpython_tests(os.path.join(support.BUILD, "obj", "python"),
                                    ["--valgrind", "--shard", shard])
        print("CPython's suite under Memcheck, shard %s (the day's; %s=K for "
              "another): %d passed, %d failed, %d skipped (%s)"
              % (shard, SHARD_ENV, p, f, s, minutes(time.monotonic() - started)),
              flush=True)
        passed += p
        failed += f
        skipped += s
    print_slowest(class_seconds)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
