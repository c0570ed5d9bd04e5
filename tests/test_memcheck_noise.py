"""Memcheck is silent on correct code: under the options of a leak-gating CI
job, CPython's startup, the whole standard library and CPython's own tests
exit with their own status and no report: in malloc mode (the default) and
in pool mode (PYTHONVALGRIND=pool)."""

import concurrent.futures
import datetime
import os
import re
import sysconfig
import unittest

import support

MODULE_LIST = os.path.join(support.TOP, "tests", "noise", "test_modules.txt")
IMPORT_STDLIB = os.path.join(support.TOP, "tests", "noise", "import_stdlib.py")
CLEAN_WORKLOAD = os.path.join(support.TOP, "tests", "noise", "clean_workload.py")
SUPPRESSIONS = os.path.join(support.BUILD, "src", "Misc", "valgrind-python.supp")
WITH_SUPPRESSIONS = [*support.MEMCHECK_GATE, "--suppressions=" + SUPPRESSIONS]


# The free-threaded build has no malloc mode: under Memcheck it always
# announces mimalloc's blocks (pool mode), so the pool-mode classes would
# run the same checks twice.
FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
SAME_AS_MALLOC_MODE = unittest.skipIf(
    FREE_THREADED, "the free-threaded build runs in pool mode already")


def test_modules():
    with open(MODULE_LIST) as f:
        return [line.strip() for line in f
                if line.strip() and not line.startswith("#")]


def describe(errors):
    return "\n".join(repr(e) for e in errors[:10])


# Pool mode: pymalloc kept under Memcheck, each block announced to it.
POOL = {"PYTHONVALGRIND": "pool"}

# CPython's debug hooks on a release build, told to Memcheck
# (Objects/obmalloc_valgrind_debug.h): PYTHONMALLOC=debug, and -X dev
# (PYTHONDEVMODE=1: regrtest's worker processes inherit it).  A pydebug
# build runs every class here under its own hooks.
DEBUG_HOOKS = {"PYTHONMALLOC": "debug"}
DEV_MODE = {"PYTHONDEVMODE": "1"}
PYDEBUG = bool(sysconfig.get_config_var("Py_DEBUG"))
DEBUG_HOOKS_TRACKED = unittest.skipIf(
    FREE_THREADED or PYDEBUG,
    "the free-threaded build's debug hooks are not told to Memcheck; "
    "a pydebug build runs every class under its own")


def todays_part(items, parts):
    """One of PARTS interleaved parts of ITEMS, chosen by the date: make
    check keeps under its hour, and in PARTS days every item has run.
    NOISE_MODULES=all: all of them."""
    if os.environ.get("NOISE_MODULES") == "all":
        return items
    start = datetime.date.today().toordinal() % parts
    return items[start::parts]


class Startup(unittest.TestCase):
    ENV = {}

    def test_pass_is_silent_without_suppressions(self):
        proc, errors = support.valgrind(["-c", "pass"], options=support.MEMCHECK_GATE,
                                        env=self.ENV)
        self.assertEqual(errors, [], describe(errors))
        self.assertEqual(proc.returncode, 0)

    def test_clean_workload_on_the_c_accelerators(self):
        proc, errors = support.valgrind([CLEAN_WORKLOAD], options=support.MEMCHECK_GATE,
                                        env=self.ENV)
        self.assertEqual(errors, [], describe(errors))
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        self.assertIn("clean workload done", proc.stdout)

    def test_exit_status_is_the_programs(self):
        proc, errors = support.valgrind(["-c", "raise SystemExit(3)"],
                                        options=support.MEMCHECK_GATE, env=self.ENV)
        self.assertEqual(errors, [], describe(errors))
        self.assertEqual(proc.returncode, 3)


@SAME_AS_MALLOC_MODE
class PoolStartup(Startup):
    ENV = POOL


@DEBUG_HOOKS_TRACKED
class DebugHooksStartup(Startup):
    ENV = DEBUG_HOOKS


@DEBUG_HOOKS_TRACKED
class DevModeStartup(Startup):
    ENV = DEV_MODE


class ImportStandardLibrary(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            bare = pool.submit(support.valgrind, [IMPORT_STDLIB],
                               options=support.MEMCHECK_GATE)
            suppressed = pool.submit(support.valgrind, [IMPORT_STDLIB],
                                     options=WITH_SUPPRESSIONS)
            cls.bare, cls.bare_errors = bare.result()
            cls.suppressed, cls.suppressed_errors = suppressed.result()

    def test_silent_with_the_suppression_file(self):
        self.assertEqual(self.suppressed_errors, [], describe(self.suppressed_errors))
        self.assertEqual(self.suppressed.returncode, 0, self.suppressed.stderr[-2000:])
        self.assertIn("imported", self.suppressed.stdout)

    def test_without_it_only_system_libraries_are_reported(self):
        # The block was allocated by a system library: the first frame
        # below the allocator is not in CPython (build/).
        for error in self.bare_errors:
            with self.subTest(error=error):
                objects = [f.obj for f in error.frames
                           if f.fn not in ("malloc", "calloc", "realloc")]
                self.assertFalse(objects[0].startswith(support.BUILD), error)



@SAME_AS_MALLOC_MODE
class PoolImportStandardLibrary(unittest.TestCase):
    def test_silent_with_the_suppression_file(self):
        proc, errors = support.valgrind([IMPORT_STDLIB], options=WITH_SUPPRESSIONS,
                                        env=POOL)
        self.assertEqual(errors, [], describe(errors))
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        self.assertIn("imported", proc.stdout)


class SuppressionFile(unittest.TestCase):
    """Each entry of Misc/valgrind-python.supp removes reports that a system
    library produces, shown here on the smallest program that produces them
    (import _tkinter makes libtcl allocate for itself; import _ios_support
    loads GNU libobjc, whose constructor does; comparing two short UCS4
    strings runs glibc's AVX2 wmemcmp(), which reads ahead)."""

    PROGRAM = ["-c", "import _tkinter, _ios_support\n"
                     "for n in range(1, 20):\n"
                     "    a = '\\U00010000' * n\n"
                     "    assert a < a[:-1] + '\\U00010001'"]
    LIBRARIES = ("libtcl", "libobjc", "libc.so")

    @classmethod
    def setUpClass(cls):
        cls.bare, cls.bare_errors = support.valgrind(
            cls.PROGRAM, options=support.MEMCHECK_GATE)
        cls.suppressed, cls.suppressed_errors = support.valgrind(
            cls.PROGRAM, options=WITH_SUPPRESSIONS)

    def test_reports_without_the_file_are_the_libraries(self):
        self.assertTrue(self.bare_errors)
        for error in self.bare_errors:
            with self.subTest(error=error):
                self.assertTrue(any(lib in f.obj for lib in self.LIBRARIES
                                    for f in error.frames), error)

    def test_the_file_removes_them(self):
        self.assertEqual(self.suppressed_errors, [], describe(self.suppressed_errors))
        self.assertEqual(self.suppressed.returncode, 0)

    # Entries that only older Valgrinds need: the version that made each
    # unneeded, and the function that version replaces (the file's comment
    # gives the reason).
    NEEDED_BEFORE = {
        "glibc-avx2-wmemcmp-reads-ahead": ((3, 21), "wmemcmp"),
    }

    def test_every_entry_is_needed(self):
        with open(SUPPRESSIONS) as f:
            names = re.findall(r"^\{\s*\n\s*(\S+)", f.read(), re.M)
        self.assertTrue(names)
        version = support.valgrind_version()
        for name in names:
            with self.subTest(name):
                used = self.suppressed.log.suppressions.get(name, 0)
                fixed_in, function = self.NEEDED_BEFORE.get(name, (None, None))
                if fixed_in is None or version < fixed_in:
                    self.assertGreater(used, 0)
                else:
                    # Unused here, and for the right reason: Valgrind
                    # replaces the function, so no report comes from it.
                    self.assertEqual(used, 0)
                    self.assertFalse(any(function in f.fn for e in self.bare_errors
                                         for f in e.frames), self.bare_errors)


class CPythonTestModules(unittest.TestCase):
    """The test modules of tests/noise/test_modules.txt, core types and C
    accelerators, run in parallel under the leak-gating options."""

    ENV = {}

    def modules(self):
        """A third of them, chosen by the date (all of them took half of make
        check's hour on two cores), or the build's part (build_modules()).
        NOISE_MODULES=all: all of them, everywhere.  All of them ran silent
        by hand."""
        if PYDEBUG or FREE_THREADED or support.under_newest_valgrind():
            return self.build_modules()
        return todays_part(self.build_modules(), 3)

    def build_modules(self):
        """All of them on the release build.  On the free-threaded build,
        where Memcheck is slower, a tenth of them, chosen by the date, and
        test_dict (where that build showed a CPython bug of its own,
        ft-dictreviter-reference.patch); under the newest Valgrind
        (tests/run.py runs this suite under it too), a tenth; on a pydebug
        build (make check-pydebug), a quarter."""
        modules = test_modules()
        if PYDEBUG:
            modules = todays_part(modules, 4)   # make check-pydebug
        if FREE_THREADED:
            modules = sorted(set(todays_part(modules, 10)) | {"test_dict"})
        elif support.under_newest_valgrind():
            modules = todays_part(modules, 10)
        return modules

    def test_modules_are_silent(self):
        def run(module):
            return module, support.valgrind(
                ["-m", "test", module], options=WITH_SUPPRESSIONS, env=self.ENV,
                unset=support.UNSET_FOR_CPYTHON_TESTS)

        modules = self.modules()
        self.assertTrue(modules)
        workers = os.cpu_count() or 2
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            for module, (proc, errors) in pool.map(run, modules):
                with self.subTest(module):
                    self.assertEqual(errors, [], describe(errors))
                    self.assertEqual(proc.returncode, 0, proc.stdout[-2000:])
                    # Silent because it ran: a module skipped as a whole
                    # (a missing resource) also exits 0 with no report.
                    ran = re.search(r"^Total tests: run=([\d,]+)",
                                    proc.stdout, re.M)
                    self.assertIsNotNone(ran, proc.stdout[-2000:])
                    self.assertGreater(int(ran.group(1).replace(",", "")), 0,
                                       proc.stdout[-2000:])


@SAME_AS_MALLOC_MODE
class PoolCPythonTestModules(CPythonTestModules):
    """A fifth of those, chosen by the date, in pool mode (all of them ran
    silent by hand; make check keeps under its hour)."""

    ENV = POOL

    def modules(self):
        return todays_part(self.build_modules(), 5)


@DEBUG_HOOKS_TRACKED
@unittest.skipIf(support.under_newest_valgrind(), "a tenth of the list there")
class DebugHooksCPythonTestModules(CPythonTestModules):
    """A tenth of them, chosen by the date, under PYTHONMALLOC=debug (not
    under the newest Valgrind, which runs a tenth of the list).  Pool mode
    under the hooks: tests/test_seeded_bugs.py's clean workload."""

    ENV = DEBUG_HOOKS

    def modules(self):
        return todays_part(self.build_modules(), 10)


@DEBUG_HOOKS_TRACKED
@unittest.skipIf(support.under_newest_valgrind(), "a tenth of the list there")
class DevModeCPythonTestModules(CPythonTestModules):
    """Another tenth, under -X dev."""

    ENV = DEV_MODE

    def modules(self):
        modules = self.build_modules()
        return todays_part(modules[5:] + modules[:5], 10)


if __name__ == "__main__":
    unittest.main()
