"""CPython's own tests and a real extension's suite under the thread
checkers, on the free-threaded build.

CPython's CI runs the modules of Lib/test/libregrtest/tsan.py under
ThreadSanitizer, with a rebuild of everything and a suppression file.  Here
a part of them runs as shipped on build/python-ft under Helgrind and DRD,
through regrtest's own --valgrind --valgrind-tool, and each must finish
with no report at all: every report in them would be CPython's own.
tools/thread_checkers.py (make bench-threads) runs all of them, with their
times (tests/threads/README.md).

A real extension from the corpus, propcache (Cython, declared safe without
the GIL), built for build/python-ft as tests/realext/build.py builds it,
runs its suite under python -m memcheck --tool=helgrind: every test passes
with no report."""

import json
import os
import subprocess
import tempfile
import unittest

import sys

import support
from memcheck.command import TOOL_ENV

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "realext"))
import build as realext  # tests/realext/build.py  # noqa: E402

PYTHON_FT = os.path.join(support.BUILD, "python-ft")

# Five of TSAN_TESTS, among the quickest under both checkers
# (tests/threads/README.md has every module's time).
MODULES = ("test_capi.test_pyatomic", "test_threading_local", "test_code",
           "test_threadsignals", "test_thread")


def setUpModule():
    if not os.path.exists(PYTHON_FT):
        raise unittest.SkipTest("no build/python-ft (make build-ft)")


class TsanModules(unittest.TestCase):

    def run_modules(self, tool):
        with tempfile.TemporaryDirectory() as results:
            env = {k: v for k, v in os.environ.items()
                   if k not in support.UNSET_FOR_CPYTHON_TESTS
                   and k != TOOL_ENV}
            env.update(PYTHONMEMCHECKRESULTS=results, PYTHONHASHSEED="0")
            proc = subprocess.run(
                [PYTHON_FT, "-m", "test", "--valgrind", "--valgrind-tool",
                 tool, "-j1", *MODULES], env=env, capture_output=True,
                text=True, timeout=3600)
            out = proc.stdout + proc.stderr
            records = {}
            for module in MODULES:
                path = os.path.join(results, module + ".json")
                self.assertTrue(os.path.exists(path), f"{module}:\n{out}")
                with open(path, encoding="utf-8") as f:
                    records[module] = json.load(f)
        for module, record in records.items():
            with self.subTest(tool=tool, module=module):
                self.assertEqual(record["errors"], 0,
                                 "\n".join(record["memcheck"]))
                self.assertEqual(record["state"], "PASSED", record)
                self.assertTrue(record["session_finished"], record)
        self.assertEqual(proc.returncode, 0, out[-3000:])

    def test_helgrind(self):
        self.run_modules("helgrind")

    def test_drd(self):
        self.run_modules("drd")


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
