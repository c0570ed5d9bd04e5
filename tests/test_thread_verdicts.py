"""Verdicts under the thread checkers: "python -m memcheck --tool=helgrind
|drd" and regrtest --valgrind with PYTHONMEMCHECKTOOL, on a suite of two
tests of an extension (tests/threads/racy.c): each runs a C function in two
Python threads with the GIL released, test_a_racy increments a C static
without a lock, test_b_locked under a pthread mutex.  Only the first fails,
with the conflicting access in its report; no leak option reaches the tool.
How Helgrind's and DRD's XML is read, on reports written here.  And
Memcheck's verdicts after a thread ran: on the free-threaded build, the
functions and code objects a test defines and drops then are no leak."""

import os
import shutil
import subprocess
import tempfile
import textwrap
import unittest
import xml.etree.ElementTree as ET

import support
from memcheck.command import (THREAD_TOOLS, TOOL_ENV, VERDICT_OPTIONS,
                              verdict_command, verdict_tool)
from memcheck.report import Finding

SOURCE = os.path.join(support.TOP, "tests", "threads", "racy.c")

TESTS = textwrap.dedent('''
    import threading
    import unittest
    import racy

    def in_two_threads(func):
        threads = [threading.Thread(target=func, args=(100,))
                   for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    class T(unittest.TestCase):
        def test_a_racy(self):
            in_two_threads(racy.racy_add)

        def test_b_locked(self):
            in_two_threads(racy.locked_add)
''')


# Correct code: after a thread ran, the free-threaded build of 3.13 made
# every function and code object immortal, never freed
# (ft-deferred-objects-mortal.patch).
AFTER_A_THREAD = textwrap.dedent('''
    import threading
    import unittest

    class T(unittest.TestCase):
        def test_a_thread(self):
            thread = threading.Thread(target=lambda: None)
            thread.start()
            thread.join()

        def test_b_functions(self):
            namespace = {}
            for i in range(20):
                exec(f"def f{i}(x):\\n    return x + {i}\\n", namespace)
            self.assertEqual(namespace["f3"](1), 4)
            namespace.clear()
''')


def setUpModule():
    global TESTDIR
    ext_dir = support.build_extension(SOURCE, "racy")
    TESTDIR = tempfile.mkdtemp()
    # Next to the tests: regrtest puts its --testdir on the path.
    for name in os.listdir(ext_dir):
        if name.startswith("racy."):
            shutil.copy(os.path.join(ext_dir, name), TESTDIR)
    with open(os.path.join(TESTDIR, "test_vg_racy.py"), "w") as f:
        f.write(TESTS)
    with open(os.path.join(TESTDIR, "test_vg_after_thread.py"), "w") as f:
        f.write(AFTER_A_THREAD)


def tearDownModule():
    shutil.rmtree(TESTDIR)


def run(args, env=None, python=support.PYTHON):
    run_env = {k: v for k, v in os.environ.items()
               if k not in support.UNSET_FOR_CPYTHON_TESTS
               and k != TOOL_ENV}
    run_env["PYTHONPATH"] = TESTDIR
    run_env.update(env or {})
    return subprocess.run([python, *args], cwd=TESTDIR, env=run_env,
                          capture_output=True, text=True, timeout=900)


def junit_failures(path):
    """{test case name: failure message and text, or None}."""
    cases = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        failure = case.find("failure")
        cases[case.get("name")] = (None if failure is None else
                                   failure.get("message") + "\n"
                                   + (failure.text or ""))
    return cases


class MemcheckCommandTests(unittest.TestCase):
    """python -m memcheck --tool=helgrind, and PYTHONMEMCHECKTOOL=drd."""

    def check(self, tool, proc, junit):
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 1, out)
        title = {"helgrind": "Helgrind", "drd": "DRD"}[tool]
        kind = {"helgrind": "Race", "drd": "ConflictingAccess"}[tool]
        self.assertIn(f"== {title} verdicts ==", out)
        self.assertIn(f"FAILED: test_vg_racy.T.test_a_racy: {title}: {kind}\n"
                      f"    {kind}: ", out)
        self.assertRegex(out, r"\n      at add \(racy\.c:\d+\)\n"
                              r"      by racy_add \(racy\.c:\d+\)")
        self.assertNotIn("test_b_locked", out.split("verdicts ==")[1])
        self.assertIn("memcheck: 1 passed, 1 failed, 0 error", out)
        self.assertIn(f"memcheck: {title} checks no leaks", out)
        cases = junit_failures(junit)
        self.assertEqual(sorted(cases), ["test_a_racy", "test_b_locked"])
        self.assertIsNone(cases["test_b_locked"])
        self.assertIn(f"{title}: {kind}", cases["test_a_racy"])
        return cases["test_a_racy"]

    def test_helgrind(self):
        junit = os.path.join(TESTDIR, "helgrind.xml")
        proc = run(["-m", "memcheck", "--tool=helgrind", "--junit-xml", junit,
                    "unittest", "test_vg_racy"])
        report = self.check("helgrind", proc, junit)
        # The other thread's access, and the memory: racy.c's static.
        self.assertRegex(report, r"\n      This conflicts with a previous "
                                 r"(read|write) of size 8 by thread #\d+\n"
                                 r"        at add \(racy\.c:\d+\)")
        self.assertIn('inside data symbol "racy_counter"', report)

    def test_drd_from_the_environment(self):
        junit = os.path.join(TESTDIR, "drd.xml")
        proc = run(["-m", "memcheck", "--junit-xml", junit, "unittest",
                    "test_vg_racy"], env={TOOL_ENV: "drd"})
        report = self.check("drd", proc, junit)
        self.assertIn("Allocation context: BSS section of", report)

    def test_no_verdicts_under_another_tool(self):
        proc = run(["-m", "memcheck", "unittest", "test_vg_racy"],
                   env={TOOL_ENV: "massif"})
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("PYTHONMEMCHECKTOOL: no per-test verdicts under tool "
                      "'massif'", proc.stderr)
        proc = run(["-m", "memcheck", "--tool=callgrind", "unittest", "x"])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("invalid choice: 'callgrind'", proc.stderr)


PYTHON_FT = os.path.join(support.BUILD, "python-ft")


@unittest.skipUnless(os.path.exists(PYTHON_FT), "no build/python-ft")
class MemcheckAfterAThread(unittest.TestCase):
    """On build/python-ft (the GIL build never made them immortal)."""

    def test_functions_made_after_a_thread_are_no_leak(self):
        junit = os.path.join(TESTDIR, "after_thread.xml")
        proc = run(["-m", "memcheck", "--junit-xml", junit, "unittest",
                    "test_vg_after_thread"], python=PYTHON_FT)
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 0, out[-3000:])
        self.assertIn("memcheck: 2 passed, 0 failed, 0 error", out)
        self.assertEqual(junit_failures(junit),
                         {"test_a_thread": None, "test_b_functions": None})


class RegrtestTests(unittest.TestCase):
    """regrtest --valgrind --valgrind-tool=helgrind, and under
    PYTHONMEMCHECKTOOL=drd."""

    def test_regrtest(self):
        for tool, title, kind, option, env in (
                ("helgrind", "Helgrind", "Race", ["--valgrind-tool",
                                                  "helgrind"], {}),
                ("drd", "DRD", "ConflictingAccess", [], {TOOL_ENV: "drd"})):
            with self.subTest(tool):
                junit = os.path.join(TESTDIR, f"regrtest-{tool}.xml")
                proc = run(["-m", "test", "--testdir", TESTDIR, "--valgrind",
                            *option, "--junit-xml", junit, "test_vg_racy"],
                           env=env)
                out = proc.stdout + proc.stderr
                self.assertEqual(proc.returncode, 2, out)
                self.assertRegex(out, rf"{title}: test_vg_racy: \d error\(s\)"
                                      rf"\n  in test_vg_racy\.T\.test_a_racy:"
                                      rf"\n    {kind}: ")
                # Nothing of CPython's, at the worker's exit either.
                self.assertNotIn("at exit:", out)
                self.assertNotIn("test_vg_racy.T.test_b_locked:", out)
                self.assertIn(f"{title}: 1 test files checked, 1 with errors\n",
                              out)
                cases = junit_failures(junit)
                self.assertIsNone(cases["test_vg_racy.T.test_b_locked"])
                self.assertIn(f"{title}: ", cases["test_vg_racy.T.test_a_racy"])
                self.assertNotIn("memcheck", cases)

    def test_bad_tool(self):
        proc = run(["-m", "test", "--valgrind", "test_vg_racy"],
                   env={TOOL_ENV: "cachegrind"})
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn("PYTHONMEMCHECKTOOL: no per-test verdicts under tool "
                      "'cachegrind'", proc.stderr)

    def test_bad_tool_option(self):
        proc = run(["-m", "test", "--valgrind", "--valgrind-tool", "massif",
                    "test_vg_racy"])
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn("'massif'", proc.stderr)
        self.assertNotIn("Traceback", proc.stderr)


HELGRIND_RACE = """<error><kind>Race</kind>
  <xwhat><text>Possible data race during write of size 8 at 0x1 by thread #4</text>
    <hthreadid>4</hthreadid></xwhat>
  <stack><frame><obj>/x/racy.so</obj><fn>add</fn><file>racy.c</file>
    <line>27</line></frame>
    <frame><obj>/x/racy.so</obj><fn>racy_add</fn><file>racy.c</file>
    <line>39</line></frame></stack>
  <xauxwhat><text>This conflicts with a previous read of size 8 by thread #5</text>
    <hthreadid>5</hthreadid></xauxwhat>
  <stack><frame><obj>/x/racy.so</obj><fn>add</fn><file>racy.c</file>
    <line>26</line></frame></stack>
  <auxwhat>Address 0x1 is 0 bytes inside data symbol "racy_counter"</auxwhat>
</error>"""

DRD_CONFLICT = """<error><kind>ConflictingAccess</kind>
  <what>Conflicting store by thread 3 at 0x00656ca0 size 8</what>
  <stack><frame><obj>/x/python</obj><fn>set_allocator_unlocked</fn>
    <file>obmalloc.c</file><line>852</line></frame>
    <frame><obj>/x/python</obj><fn>PyMem_SetAllocator</fn></frame></stack>
  <auxwhat>Allocation context: Data section of /x/python</auxwhat>
  <other_segment_start><stack><frame><obj>/x/libc.so.6</obj>
    <fn>sem_post</fn></frame></stack></other_segment_start>
  <other_segment_end><stack><frame><obj>/x/libc.so.6</obj>
    <fn>pthread_mutex_lock</fn></frame></stack></other_segment_end>
</error>"""


class ReportTests(unittest.TestCase):
    """Helgrind's and DRD's reports as memcheck.report reads them; the
    command lines of the tools."""

    def test_helgrind_race(self):
        finding = Finding(ET.fromstring(HELGRIND_RACE))
        self.assertEqual(finding.kind, "Race")
        self.assertFalse(finding.is_leak)
        self.assertEqual(finding.functions, ["add", "racy_add"])
        self.assertEqual(finding.format(),
            "    Race: Possible data race during write of size 8 at 0x1 by "
            "thread #4\n"
            "      at add (racy.c:27)\n"
            "      by racy_add (racy.c:39)\n"
            "      This conflicts with a previous read of size 8 by thread #5\n"
            "        at add (racy.c:26)\n"
            "      Address 0x1 is 0 bytes inside data symbol \"racy_counter\"")

    def test_drd_conflict_in_the_allocator(self):
        # A race in the allocator starts at the allocator's frame.
        finding = Finding(ET.fromstring(DRD_CONFLICT))
        self.assertEqual(finding.what,
                         "Conflicting store by thread 3 at 0x00656ca0 size 8")
        text = finding.format()
        self.assertIn("\n      at set_allocator_unlocked (obmalloc.c:852)\n"
                      "      by PyMem_SetAllocator (in python)\n"
                      "      Allocation context: Data section of /x/python\n"
                      "      Other segment start:\n"
                      "        at sem_post (in libc.so.6)\n"
                      "      Other segment end:\n"
                      "        at pthread_mutex_lock (in libc.so.6)", text)

    def test_memcheck_report_unchanged(self):
        # Memcheck's auxiliary lines stay out of its compact report.
        finding = Finding(ET.fromstring(
            "<error><kind>InvalidRead</kind><what>Invalid read of size 1"
            "</what><stack><frame><obj>/x/w.so</obj><fn>longest</fn>"
            "<file>w.c</file><line>71</line></frame></stack>"
            "<auxwhat>Address 0x1 is 0 bytes after a block</auxwhat>"
            "<stack><frame><fn>malloc</fn></frame></stack></error>"))
        self.assertEqual(finding.format(), "    InvalidRead: Invalid read of "
                         "size 1\n      at longest (w.c:71)")

    def test_commands(self):
        for tool in THREAD_TOOLS:
            cmd = verdict_command(["python"], "x.xml", ["--history-level=approx"],
                                  tool=tool)
            self.assertEqual(cmd[:2], ["valgrind", "--tool=" + tool])
            self.assertFalse([o for o in cmd if o.startswith(
                ("--leak-check", "--show-leak-kinds", "--errors-for-leak"))])
            self.assertIn("--history-level=approx", cmd)
            self.assertTrue(any(o.endswith("/threads.supp") for o in cmd))
        cmd = verdict_command(["python"], "x.xml")
        self.assertEqual(cmd[1], "--tool=memcheck")
        self.assertEqual(cmd[2:2 + len(VERDICT_OPTIONS)], list(VERDICT_OPTIONS))

    def test_verdict_tool(self):
        env = os.environ.pop(TOOL_ENV, None)
        try:
            self.assertEqual(verdict_tool(), "memcheck")
            os.environ[TOOL_ENV] = "drd"
            self.assertEqual(verdict_tool(), "drd")
            self.assertEqual(verdict_tool("helgrind"), "helgrind")
            with self.assertRaises(ValueError):
                verdict_tool("dhat")
        finally:
            os.environ.pop(TOOL_ENV, None)
            if env is not None:
                os.environ[TOOL_ENV] = env


if __name__ == "__main__":
    unittest.main()
