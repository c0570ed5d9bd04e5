"""python -m memcheck keeps fixtures as the framework sets them up: each
test runs once, through pytest's own protocol or unittest's suite.  Counted
setups per scope (tests/scopes) against the same suite without Memcheck."""

import collections
import os
import shutil
import subprocess
import tempfile
import unittest

import support
from test_verdicts import DEBIAN_SITE, EXAMPLE, junit_cases

SCOPES = os.path.join(support.TOP, "tests", "scopes")


def setUpModule():
    global EXT_DIR
    EXT_DIR = support.build_extension(os.path.join(EXAMPLE, "wordstats.c"),
                                      "wordstats")


class FixtureScopes(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        for name in os.listdir(SCOPES):
            if name.endswith(".py"):
                shutil.copy(os.path.join(SCOPES, name), self.tmp)

    def run_suite(self, args, memcheck):
        """(setup counts by scope, JUnit cases or None, process)."""
        log = os.path.join(self.tmp, "scopes.log")
        if os.path.exists(log):
            os.unlink(log)
        junit = os.path.join(self.tmp, "junit.xml")
        env = {k: v for k, v in os.environ.items()
               if k not in support.UNSET_FOR_CPYTHON_TESTS}
        env.update(SCOPE_LOG=log, PYTHONPATH=EXT_DIR + ":" + DEBIAN_SITE)
        prefix = ["-m", "memcheck", "--junit-xml", junit] if memcheck else ["-m"]
        proc = subprocess.run([support.PYTHON, *prefix, *args], cwd=self.tmp,
                              env=env, capture_output=True, text=True,
                              timeout=900)
        with open(log) as f:
            counts = collections.Counter(line.strip() for line in f)
        return counts, junit_cases(junit) if memcheck else None, proc

    def need_pytest(self):
        if not os.path.exists(os.path.join(DEBIAN_SITE, "pytest")):
            self.skipTest("Debian's python3-pytest is not installed")

    def test_pytest_scopes_as_without_memcheck(self):
        # A suite that does not leak: every scope, functions too, exactly
        # as plain pytest.
        self.need_pytest()
        args = ["pytest", "-p", "no:cacheprovider", "-k", "not leak",
                "test_scopes_a.py", "test_scopes_b.py"]
        plain, _, proc = self.run_suite(args, memcheck=False)
        self.assertEqual(proc.returncode, 0, proc.stdout)
        checked, cases, proc = self.run_suite(args, memcheck=True)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(checked, plain)
        self.assertEqual(checked["setup session"], 1)
        self.assertEqual(checked["setup function"], 8)
        self.assertEqual(len(cases), 8)

    def test_pytest_narrowing_keeps_the_session(self):
        # A leaking test: its group is narrowed down by re-runs, and the
        # leak is blamed on it alone; the session fixture stays up.
        self.need_pytest()
        args = ["pytest", "-p", "no:cacheprovider", "test_scopes_a.py",
                "test_scopes_b.py"]
        checked, cases, proc = self.run_suite(args, memcheck=True)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertEqual(checked["setup session"], 1)
        self.assertEqual(checked["teardown session"], 1)
        failing = {name for name, (status, _) in cases.items()
                   if status != "passed"}
        self.assertEqual(failing, {"test_leak"}, proc.stdout)
        self.assertIn("definitely lost", cases["test_leak"][1])
        self.assertIn("split (wordstats.c:", cases["test_leak"][1])

    def test_unittest_class_and_module_fixtures(self):
        args = ["unittest", "test_unittest_scopes"]
        plain, _, proc = self.run_suite(args, memcheck=False)
        checked, cases, proc = self.run_suite(args, memcheck=True)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        # Re-runs happen while the class's fixtures are up.
        self.assertEqual(checked, plain)
        self.assertEqual(checked["setup class First"], 1)
        self.assertEqual(checked["setup module"], 1)
        failing = {name for name, (status, _) in cases.items()
                   if status != "passed"}
        self.assertEqual(failing, {"test_leak"}, proc.stdout)


# Tests that log the process they run in, for -j2: those of Shared share a
# class fixture and take 3 s each, the others share nothing and are quick.
# Shared comes first (unittest orders classes by name).
JOBS_PYTEST = """\
import os, time

def log(event):
    with open(os.environ["SCOPE_LOG"], "a") as f:
        f.write(f"{event} {os.getpid()}\\n")

class TestShared:
    @classmethod
    def setup_class(cls):
        log("setup Shared")

%s
%s
"""
JOBS_UNITTEST = """\
import os, time
import unittest

def log(event):
    with open(os.environ["SCOPE_LOG"], "a") as f:
        f.write(f"{event} {os.getpid()}\\n")

class Shared(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        log("setup Shared")

%s
class Unshared(unittest.TestCase):
%s
"""
SLOW = "time.sleep(3); "


def _methods(event, count, body=""):
    return "".join(f"    def test_{i}(self):\n        {body}log('{event} {i}')\n"
                   for i in range(count))


class JobsKeepSharedFixtures(unittest.TestCase):
    """-j2 keeps the tests that share a class fixture in one process, and
    deals the others one by one as the processes ask: the slow class comes
    first, and while one process runs it, the other runs every quick
    test."""

    def run_jobs(self, framework, name, source):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        with open(os.path.join(tmp, name + ".py"), "w") as f:
            f.write(source)
        log = os.path.join(tmp, "log")
        env = {k: v for k, v in os.environ.items()
               if k not in support.UNSET_FOR_CPYTHON_TESTS}
        env.update(SCOPE_LOG=log, PYTHONPATH=DEBIAN_SITE)
        args = ([name] if framework == "unittest"
                else ["-p", "no:cacheprovider", name + ".py"])
        proc = subprocess.run(
            [support.PYTHON, "-m", "memcheck", "-j2", framework, *args],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=900)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        pids = collections.defaultdict(set)
        with open(log) as f:
            for line in f:
                event, pid = line.rsplit(" ", 1)
                pids[event.split()[0]].add(pid)
                pids[event].add(pid)
        return pids

    def check(self, pids):
        self.assertEqual(len(pids["setup Shared"]), 1)
        self.assertEqual(pids["shared"], pids["setup Shared"])
        self.assertEqual(len(pids["free"]), 1)
        self.assertNotEqual(pids["free"], pids["shared"])
        self.assertEqual(sum(len(pids[f"free {i}"]) for i in range(6)), 6)

    def test_pytest(self):
        if not os.path.exists(os.path.join(DEBIAN_SITE, "pytest")):
            self.skipTest("Debian's python3-pytest is not installed")
        free = "".join(f"def test_free_{i}():\n    log('free {i}')\n"
                       for i in range(6))
        self.check(self.run_jobs("pytest", "test_jobs", JOBS_PYTEST % (
            _methods("shared", 4, SLOW), free)))

    def test_unittest(self):
        self.check(self.run_jobs("unittest", "test_jobs", JOBS_UNITTEST % (
            _methods("shared", 4, SLOW), _methods("free", 6))))


if __name__ == "__main__":
    unittest.main()
