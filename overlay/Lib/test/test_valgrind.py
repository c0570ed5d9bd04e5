"""Tests for pymalloc under Valgrind (configure --with-valgrind).

The native tests check that the feature stays out of the way when not under
Valgrind; the others run the interpreter under Valgrind and are skipped where
valgrind is not installed.  See Misc/README.valgrind."""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import unittest
from test.support import import_helper, requires_subprocess
from test.support.script_helper import assert_python_ok, assert_python_failure

_valgrind = import_helper.import_module("_valgrind")

REPORT = "import _valgrind; print(_valgrind.tool(), _valgrind.mode())"

# The free-threaded build serves PyMem_ and PyObject_ by mimalloc, not by
# pymalloc.  Its objects cannot move to malloc(): malloc mode means pool
# mode there (mimalloc's blocks announced to Memcheck), and the small-object
# allocator kept under other tools.
FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
SMALL_ALLOCATOR = "mimalloc" if FREE_THREADED else "pymalloc"
MEMCHECK_DEFAULT = "pool" if FREE_THREADED else "malloc"


@unittest.skipIf(_valgrind.running_on_valgrind(),
                 "checks the interpreter outside Valgrind (the test suite "
                 "itself runs under it: python -m test --valgrind)")
class NativeTests(unittest.TestCase):
    """Not under Valgrind: pymalloc, untouched."""

    def test_queries(self):
        self.assertEqual(_valgrind.running_on_valgrind(), 0)
        self.assertIsNone(_valgrind.tool())
        self.assertEqual(_valgrind.mode(), "pymalloc")

    def test_allocator_tables_hold_pymalloc(self):
        # The first-use functions are gone from the tables once the first
        # allocation has decided.
        _testinternalcapi = import_helper.import_module("_testinternalcapi")
        self.assertIn(_testinternalcapi.pymem_getallocatorsname(),
                      (SMALL_ALLOCATOR, SMALL_ALLOCATOR + "_debug"))

    def test_checks_outside_valgrind(self):
        # No error counted, no leak search: every count is 0, the marker
        # and the monitor command go nowhere.
        self.assertEqual(_valgrind.count_errors(), 0)
        counts = _valgrind.leak_check()
        self.assertIsInstance(counts, _valgrind.LeakCounts)
        self.assertEqual(tuple(counts), (0,) * 8)
        self.assertEqual(counts.leaked, 0)
        self.assertEqual(counts.leaked_blocks, 0)
        self.assertIsNone(_valgrind.marker("a line for the log"))
        self.assertIs(_valgrind.monitor("leak_check summary"), False)

    def test_checks_reject_bad_arguments(self):
        for func in (_valgrind.marker, _valgrind.monitor):
            with self.subTest(func=func.__name__):
                self.assertRaises(TypeError, func, b"bytes")
                self.assertRaises(TypeError, func)
        self.assertRaises(TypeError, _valgrind.leak_check, 1)

    @requires_subprocess()
    def test_pythonvalgrind_ignored_natively(self):
        for value in ("malloc", "pymalloc", "auto"):
            with self.subTest(value=value):
                res = assert_python_ok("-c", REPORT, PYTHONVALGRIND=value)
                self.assertEqual(res.out.split(), [b"None", b"pymalloc"])

    @requires_subprocess()
    def test_unknown_pythonvalgrind_stops_startup(self):
        res = assert_python_failure("-c", "pass", PYTHONVALGRIND="mallok")
        self.assertIn(b"PYTHONVALGRIND: unknown mode", res.err)

    @requires_subprocess()
    def test_help_env(self):
        res = assert_python_ok("--help-env")
        self.assertIn(b"PYTHONVALGRIND", res.out)

    @requires_subprocess()
    def test_debug_hooks(self):
        code = ("import _testinternalcapi, _valgrind; "
                "print(_testinternalcapi.pymem_getallocatorsname(), _valgrind.mode())")
        allocators = ["debug", SMALL_ALLOCATOR + "_debug", SMALL_ALLOCATOR]
        if not FREE_THREADED:       # which takes mimalloc only
            allocators.append("malloc")
        for allocator in allocators:
            with self.subTest(allocator=allocator):
                res = assert_python_ok("-c", code, PYTHONMALLOC=allocator)
                name = {"debug": SMALL_ALLOCATOR + "_debug"}.get(allocator,
                                                                 allocator)
                self.assertEqual(res.out.split()[0].decode(), name)


VALGRIND = shutil.which("valgrind")


@unittest.skipUnless(VALGRIND, "valgrind is not installed")
@requires_subprocess()
class ValgrindTests(unittest.TestCase):

    def valgrind(self, tool, *args, env=None, options=(), cwd=None):
        run_env = dict(os.environ)
        run_env.pop("PYTHONVALGRIND", None)
        run_env.update(env or {})
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [VALGRIND, "--tool=" + tool, "-q",
                   "--log-file=" + os.path.join(tmp, "log")]
            if tool in ("callgrind", "cachegrind"):
                cmd.append("--%s-out-file=%s" % (tool, os.path.join(tmp, "out")))
            cmd += list(options) + [*args]
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  env=run_env, cwd=cwd, timeout=600)
            with open(os.path.join(tmp, "log")) as f:
                log = f.read()
        return proc, log

    def mode(self, tool, **env):
        proc, log = self.valgrind(tool, sys.executable, "-c", REPORT, env=env)
        self.assertEqual(proc.returncode, 0, (log + proc.stderr)[-3000:])
        return proc.stdout.split()

    def test_memcheck_gets_malloc_mode(self):
        self.assertEqual(self.mode("memcheck"), ["memcheck", MEMCHECK_DEFAULT])

    def test_callgrind_keeps_pymalloc(self):
        self.assertEqual(self.mode("callgrind"), ["callgrind", "pymalloc"])

    def test_pythonvalgrind_overrides(self):
        self.assertEqual(self.mode("callgrind", PYTHONVALGRIND="malloc"),
                         ["callgrind", "pymalloc" if FREE_THREADED else "malloc"])
        self.assertEqual(self.mode("memcheck", PYTHONVALGRIND="pymalloc"),
                         ["memcheck", "pymalloc"])

    LEAK = textwrap.dedent("""
        import ctypes
        ctypes.pythonapi.PyMem_Malloc.restype = ctypes.c_void_p
        ctypes.pythonapi.PyMem_Malloc(37)    # never freed
    """)

    def leak_records(self, **env):
        proc, log = self.valgrind("memcheck", sys.executable, "-c", self.LEAK,
                                  env=env, options=["--leak-check=full"])
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        return [record for record in re.split(r"==\d+== \n", log)
                if "37 bytes in 1 blocks are definitely lost" in record]

    def test_memcheck_sees_a_leaked_pymem_block(self):
        records = self.leak_records()
        self.assertEqual(len(records), 1)
        # PyMem_Malloc() tail-calls the allocator: its frame is the caller's.
        self.assertIn("pool_mi_malloc" if FREE_THREADED else "malloc_mode_malloc",
                      records[0])

    def test_pymalloc_hides_the_same_leak(self):
        self.assertEqual(self.leak_records(PYTHONVALGRIND="pymalloc"), [])

    def assertNoMemoryErrors(self, *args, env=None, cwd=None):
        proc, log = self.valgrind("memcheck", *args, env=env, cwd=cwd,
                                  options=["--error-exitcode=99"])
        self.assertEqual(proc.returncode, 0, (log + proc.stderr)[-3000:])

    def test_debug_hooks_under_memcheck(self):
        self.assertNoMemoryErrors(sys.executable, "-c", "x = [str(i) for i in range(1000)]",
                                  env={"PYTHONMALLOC": "debug"})

    def test_tracemalloc_under_memcheck(self):
        self.assertNoMemoryErrors(
            sys.executable, "-X", "tracemalloc", "-c",
            "import tracemalloc; x = [str(i) for i in range(1000)]; "
            "assert tracemalloc.get_traced_memory()[0] > 0")

    def test_embedding_initialize_twice_under_memcheck(self):
        builddir = sysconfig.get_config_var("abs_builddir")
        testembed = os.path.join(builddir or "", "Programs", "_testembed")
        if not builddir or not os.path.exists(testembed):
            self.skipTest("needs Programs/_testembed from a build directory")
        for test in ("test_repeated_simple_init", "test_pre_initialization_api"):
            with self.subTest(test):
                # _testembed finds the standard library from the build
                # directory, as test_embed runs it.
                self.assertNoMemoryErrors(testembed, test, cwd=builddir)


if __name__ == "__main__":
    unittest.main()
