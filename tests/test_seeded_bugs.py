"""The seeded-bug extension under Memcheck: routing to malloc is what makes
each bug visible, at the C function that made it."""

import os
import unittest

import support

SEEDED = os.path.join(support.TOP, "tests", "seededbugs", "seededbugs.c")

# Each seeded bug, and the Memcheck error kind it must produce.
EXPECTED = {
    "bug_leak_object": "Leak_DefinitelyLost",
    "bug_leak_pymem": "Leak_DefinitelyLost",
    "bug_leak_pyobject_malloc": "Leak_DefinitelyLost",
    "bug_overflow_write": "InvalidWrite",
    "bug_overflow_read": "InvalidRead",
    "bug_uninit_branch": "UninitCondition",
    "bug_use_after_free": "InvalidRead",
    "bug_leak_float": "Leak_DefinitelyLost",
    "bug_leak_str": "Leak_DefinitelyLost",
    "bug_leak_list": "Leak_DefinitelyLost",
    "bug_leak_dict": "Leak_DefinitelyLost",
    "bug_leak_tuple": "Leak_DefinitelyLost",
    "bug_leak_container": "Leak_DefinitelyLost",
    "bug_read_after_decref": "InvalidRead",
}

# Calls every bug function, then the clean one, in one process.
SCRIPT = """
import seededbugs
for name in %r:
    getattr(seededbugs, name)()
seededbugs.clean_workload()
""" % (sorted(EXPECTED),)

MEMCHECK_OPTIONS = support.MEMCHECK_GATE + ["--num-callers=30"]


def run_seeded(env):
    ext_dir = support.build_extension(SEEDED, "seededbugs")
    proc, errors = support.valgrind(
        ["-c", SCRIPT], options=MEMCHECK_OPTIONS,
        env=dict(env, PYTHONPATH=ext_dir))
    # 99: Memcheck found errors, as it must; anything else is a crash.
    if proc.returncode not in (0, 99):
        raise AssertionError("seeded run failed:\n" + proc.stderr[-3000:])
    return errors


def kinds_reported_in(errors, function):
    return {e.kind for e in errors if function in e.functions}


class RoutedToMalloc(unittest.TestCase):
    """Default settings: Memcheck routes pymalloc to malloc."""

    @classmethod
    def setUpClass(cls):
        cls.errors = run_seeded({})

    def test_each_bug_reported_at_its_function(self):
        for function, kind in EXPECTED.items():
            with self.subTest(function):
                self.assertIn(kind, kinds_reported_in(self.errors, function),
                              self.errors)

    def test_overflow_is_reported_in_the_function_itself(self):
        # Not merely somewhere below it: the faulting frame is the function.
        for function in ("bug_overflow_write", "bug_overflow_read",
                         "bug_use_after_free", "bug_uninit_branch"):
            with self.subTest(function):
                tops = [e.functions[0] for e in self.errors if e.functions]
                self.assertIn(function, tops)

    def test_clean_function_reports_nothing(self):
        self.assertEqual(kinds_reported_in(self.errors, "clean_workload"), set())

    def test_contents_of_a_leaked_container_are_indirectly_lost(self):
        self.assertEqual(kinds_reported_in(self.errors, "bug_leak_container"),
                         {"Leak_DefinitelyLost", "Leak_IndirectlyLost"})

    def test_no_report_outside_the_bugs(self):
        # Nothing of CPython's own: every report names a seeded bug.
        stray = [e for e in self.errors
                 if not any(f in EXPECTED for f in e.functions)]
        self.assertEqual(stray, [])


class PymallocKept(unittest.TestCase):
    """PYTHONVALGRIND=pymalloc under Memcheck: the bugs are hidden again,
    which shows that the routing is what finds them."""

    @classmethod
    def setUpClass(cls):
        cls.errors = run_seeded({"PYTHONVALGRIND": "pymalloc"})

    def test_bugs_hidden_by_pymalloc_are_missed(self):
        for function in EXPECTED:
            with self.subTest(function):
                self.assertEqual(kinds_reported_in(self.errors, function), set())


if __name__ == "__main__":
    unittest.main()
