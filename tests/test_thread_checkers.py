"""CPython's own tests and a real extension's suite under the thread
checkers, on the free-threaded build.

CPython's CI runs the modules of Lib/test/libregrtest/tsan.py under
ThreadSanitizer, with a rebuild of everything and a suppression file.  Here
five of them run as shipped on build/python-ft under Helgrind, through
python -m memcheck --tool=helgrind, and every test case must pass with no
report: every report in them would be CPython's own.
tools/thread_checkers.py (make bench-threads) runs all of them, with their
times (tests/threads/README.md).

A real extension from the corpus, propcache (Cython, declared safe without
the GIL), built for build/python-ft as tests/realext/build.py builds it,
runs its suite under python -m memcheck --tool=helgrind: every test passes
with no report."""

import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

import support
from memcheck.command import TOOL_ENV

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "realext"))
import build as realext  # tests/realext/build.py  # noqa: E402

PYTHON_FT = os.path.join(support.BUILD, "python-ft")

# Five of TSAN_TESTS, in one process (start-up is paid once): 201 tests,
# about 4 minutes under Helgrind.  Under DRD each takes many times that
# (tests/threads/README.md): DRD runs the seeded races in make check.
MODULES = ("test.test_capi.test_mem", "test.test_capi.test_pyatomic",
           "test.test_code", "test.test_threading_local", "test.test_thread")


def setUpModule():
    if not os.path.exists(PYTHON_FT):
        raise unittest.SkipTest("no build/python-ft (make build-ft)")


def junit_cases(path):
    """{test id: failure text, or None}."""
    cases = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        failure = case.find("failure")
        cases[case.get("classname") + "." + case.get("name")] = (
            None if failure is None else failure.get("message") + "\n"
            + (failure.text or ""))
    return cases


class TsanModules(unittest.TestCase):

    def test_helgrind(self):
        env = {k: v for k, v in os.environ.items()
               if k not in support.UNSET_FOR_CPYTHON_TESTS and k != TOOL_ENV}
        env["PYTHONHASHSEED"] = "0"
        with tempfile.TemporaryDirectory() as tmp:
            junit = os.path.join(tmp, "junit.xml")
            proc = subprocess.run(
                [PYTHON_FT, "-m", "memcheck", "--tool=helgrind",
                 "--junit-xml", junit, "unittest", *MODULES],
                cwd=tmp, env=env, capture_output=True, text=True,
                timeout=3600)
            out = proc.stdout + proc.stderr
            cases = junit_cases(junit)
        for module in MODULES:
            ran = [case for case in cases if case.startswith(module + ".")]
            self.assertGreater(len(ran), 0, f"{module}: no test ran\n{out}")
        failed = {case: text for case, text in cases.items() if text}
        self.assertEqual(failed, {}, out[-5000:])
        self.assertRegex(out, r"memcheck: \d+ passed, 0 failed, 0 error")
        self.assertEqual(proc.returncode, 0, out[-3000:])


class RealExtensionUnderHelgrind(unittest.TestCase):
    """propcache's whole suite (47 tests, 20 on its Cython module)."""

    def test_propcache(self):
        try:
            tree, directory = realext.build("propcache", PYTHON_FT)
        except realext.FetchError as e:
            self.skipTest(f"propcache's source: {e}")
        env = {k: v for k, v in os.environ.items()
               if k not in support.UNSET_FOR_CPYTHON_TESTS and k != TOOL_ENV}
        env["PYTHONPATH"] = os.pathsep.join(
            [directory, "/usr/lib/python3/dist-packages"])
        with tempfile.TemporaryDirectory() as tmp:
            junit = os.path.join(tmp, "junit.xml")
            proc = subprocess.run(
                [PYTHON_FT, "-m", "memcheck", "--tool=helgrind",
                 "--junit-xml", junit, "pytest", "--assert=plain", "-o",
                 "addopts=", "-p", "no:cacheprovider", "-q", "tests"],
                cwd=tree, env=env, capture_output=True, text=True,
                timeout=1800)
        out = proc.stdout + proc.stderr
        self.assertNotIn("FAILED:", out)
        self.assertRegex(out, r"memcheck: [1-9]\d* passed, 0 failed, 0 error")
        self.assertEqual(proc.returncode, 0, out[-3000:])


if __name__ == "__main__":
    unittest.main()
