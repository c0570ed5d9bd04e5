"""The seeded races under Helgrind and DRD on the free-threaded build.

tests/seededbugs/seededraces.c has three data races (race_*) and the same
work done correctly (clean_*): a C static counter, a lazily built cache, a
list's items array written while another thread appends; the counter under
a PyMutex, a dict updated inside its critical section, a C11 atomic counter,
objects handed over by a queue.Queue, objects whose dicts one thread makes
while the other sets attributes in them.  Each is a test case of one suite,
run in two Python threads on build/python-ft, and the suite runs once per
checker under "python -m memcheck --tool=TOOL": a verdict per test case.
Every race must fail its test, with its function in the report (the access
or the one it conflicts with); every clean case must pass: the runtime's
own synchronisation (PyMutex, critical sections, biased reference counting,
mimalloc, QSBR, the parking lot) is told to the checkers
(Include/internal/pycore_valgrind_sync.h), so none of CPython's own
accesses is reported.  With PYTHONVALGRIND_SYNC=off the same clean case
gets CPython's reports back: the annotations do the work."""

import os
import shutil
import subprocess
import tempfile
import textwrap
import unittest

import support
from memcheck.command import TOOL_ENV
from test_thread_verdicts import junit_failures

PYTHON_FT = os.path.join(support.BUILD, "python-ft")
SOURCE = os.path.join(support.TOP, "tests", "seededbugs", "seededraces.c")

# Each race case and the function that must appear in its report.
RACES = {
    "test_race_counter": "race_counter",
    "test_race_lazy_cache": "race_lazy_cache",
    "test_race_list_items": "race_list_items",
}
CLEAN = ("test_clean_atomic_counter", "test_clean_critical_section",
         "test_clean_dict_made_elsewhere", "test_clean_handoff",
         "test_clean_mutex_counter")

TESTS = textwrap.dedent('''
    import queue
    import threading
    import unittest
    import seededraces as s

    N = 200

    def in_two_threads(*targets):
        """Run each (function, args) in a thread of its own; one target
        given runs in two threads."""
        if len(targets) == 1:
            targets *= 2
        threads = [threading.Thread(target=f, args=a) for f, a in targets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def append_after_meeting(items):
        s.meet()
        for i in range(N):
            items.append(i)

    class Races(unittest.TestCase):
        def test_race_counter(self):
            in_two_threads((s.race_counter, (N,)))

        def test_race_lazy_cache(self):
            in_two_threads((s.race_lazy_cache, ()))

        def test_race_list_items(self):
            items = [0]
            in_two_threads((s.race_list_items, (items, N)),
                           (append_after_meeting, (items,)))

    class Clean(unittest.TestCase):
        def test_clean_mutex_counter(self):
            in_two_threads((s.clean_mutex_counter, (N,)))

        def test_clean_critical_section(self):
            counts = {}
            in_two_threads((s.clean_critical_section, (counts, "k", N)))
            # Not 2 * N: in 3.13, PyDict_SetItem() inside the dict's own
            # critical section locks its mutex again, which suspends the
            # outer section (an update may be lost, no memory raced on).
            self.assertTrue(N <= counts["k"] <= 2 * N, counts)

        def test_clean_atomic_counter(self):
            in_two_threads((s.clean_atomic_counter, (N,)))

        def test_clean_dict_made_elsewhere(self):
            # One thread makes each object's dict (reading __dict__ makes
            # it from the inline values, or a new one), the other sets an
            # attribute in it: the dict is published by a release store in
            # the object's critical section and loaded without the lock.
            class Inline:
                pass

            class Slot:
                __slots__ = ("__dict__",)

            objs = ([Inline() for _ in range(N // 2)]
                    + [Slot() for _ in range(N // 2)])
            meeting = threading.Barrier(2)

            def make():
                meeting.wait()
                for obj in objs:
                    obj.__dict__

            def set_attributes():
                meeting.wait()
                for obj in objs:
                    obj.x = 1

            in_two_threads((make, ()), (set_attributes, ()))
            self.assertTrue(all(obj.x == 1 for obj in objs))

        def test_clean_handoff(self):
            handed = queue.Queue()
            sums = []

            def produce():
                for i in range(N // 4):
                    handed.put(s.clean_handoff_make(i))
                handed.put(None)

            def consume():
                while (item := handed.get()) is not None:
                    sums.append(s.clean_handoff_take(item))

            in_two_threads((produce, ()), (consume, ()))
            self.assertEqual(sums, [64 * i for i in range(N // 4)])
''')

# A thread that C code starts and that attaches later, in a process of its
# own: no other thread has run Python code before it.
FOREIGN_TESTS = textwrap.dedent('''
    import unittest
    import seededraces as s

    class Foreign(unittest.TestCase):
        def test_clean_foreign_thread(self):
            items = []
            total = s.clean_foreign_thread(items, 50)
            self.assertEqual(len(items), 50)
            # The C thread summed the items there when it attached.
            self.assertIn(total, {sum(items[:k]) for k in range(51)})
''')


def setUpModule():
    global TESTDIR
    if not os.path.exists(PYTHON_FT):
        raise unittest.SkipTest("no build/python-ft (make build-ft)")
    ext_dir = support.build_extension(
        SOURCE, "seededraces", os.path.join(support.BUILD, "tests", "ext-ft"),
        PYTHON_FT)
    TESTDIR = tempfile.mkdtemp()
    for name in os.listdir(ext_dir):
        if name.startswith("seededraces."):
            shutil.copy(os.path.join(ext_dir, name), TESTDIR)
    with open(os.path.join(TESTDIR, "test_vg_races.py"), "w") as f:
        f.write(TESTS)
    with open(os.path.join(TESTDIR, "test_vg_foreign.py"), "w") as f:
        f.write(FOREIGN_TESTS)


def tearDownModule():
    shutil.rmtree(TESTDIR, ignore_errors=True)


def run(args, env=None):
    run_env = {k: v for k, v in os.environ.items()
               if k not in support.UNSET_FOR_CPYTHON_TESTS
               and k != TOOL_ENV}
    run_env["PYTHONPATH"] = TESTDIR
    run_env.update(env or {})
    return subprocess.run([PYTHON_FT, *args], cwd=TESTDIR, env=run_env,
                          capture_output=True, text=True, timeout=1800)


class SeededRaces(unittest.TestCase):
    """Each checker, one run of the whole suite."""

    def check(self, tool):
        junit = os.path.join(TESTDIR, tool + ".xml")
        proc = run(["-m", "memcheck", "--tool=" + tool, "--junit-xml", junit,
                    "unittest", "test_vg_races"])
        out = proc.stdout + proc.stderr
        cases = junit_failures(junit)
        self.assertEqual(sorted(cases), sorted([*RACES, *CLEAN]), out)
        for case, function in RACES.items():
            with self.subTest(tool=tool, race=case):
                report = cases[case]
                self.assertIsNotNone(report, f"{case}: no report\n{out}")
                self.assertRegex(report, rf"\b(at|by) {function} "
                                         r"\(seededraces\.c:\d+\)", out)
        for case in CLEAN:
            with self.subTest(tool=tool, clean=case):
                self.assertIsNone(cases[case], out)
        self.assertIn(f"memcheck: {len(CLEAN)} passed, {len(RACES)} failed, "
                      "0 error", out)
        # Nothing of CPython's own at the end of the run either.
        self.assertNotIn("at exit", out)
        self.assertEqual(proc.returncode, 1, out)

    def test_helgrind(self):
        self.check("helgrind")

    def test_drd(self):
        self.check("drd")


class ForeignThread(unittest.TestCase):
    """A thread that C code started attaches after the main thread went on
    without telling its synchronisation (one thread ran Python code until
    then): silent under both checkers."""

    def check(self, tool):
        junit = os.path.join(TESTDIR, tool + "-foreign.xml")
        proc = run(["-m", "memcheck", "--tool=" + tool, "--junit-xml", junit,
                    "unittest", "test_vg_foreign"])
        out = proc.stdout + proc.stderr
        self.assertEqual(junit_failures(junit),
                         {"test_clean_foreign_thread": None}, out)
        self.assertNotIn("at exit", out)
        self.assertEqual(proc.returncode, 0, out)

    def test_helgrind(self):
        self.check("helgrind")

    def test_drd(self):
        self.check("drd")


class WithoutTheAnnotations(unittest.TestCase):
    """PYTHONVALGRIND_SYNC=off: the clean critical-section case is reported,
    in CPython's own code (what the annotations take away)."""

    def test_helgrind_reports_cpython(self):
        junit = os.path.join(TESTDIR, "off.xml")
        proc = run(["-m", "memcheck", "--tool=helgrind", "--junit-xml", junit,
                    "unittest",
                    "test_vg_races.Clean.test_clean_critical_section"],
                   env={"PYTHONVALGRIND_SYNC": "off"})
        out = proc.stdout + proc.stderr
        report = junit_failures(junit)["test_clean_critical_section"]
        self.assertIsNotNone(report, out)
        self.assertIn("Race", report)
        self.assertNotIn("seededraces.c", report.split("\n")[1], out)


if __name__ == "__main__":
    unittest.main()
