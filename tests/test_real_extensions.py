"""Real third-party C and Cython extensions, with their own test suites,
under Memcheck.

Each extension of tests/realext/extensions.conf is fetched from Debian's
archive (tools/fetch-extension: pinned by sha256), built against build/python
with plain gcc (tests/realext/build.py; a Cython package translated first by
the Cython pinned there), and a representative part of its own suite runs
natively, then three times:

- under the leak-gating command, in malloc mode (Memcheck's default)

    valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \\
        --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \\
        build/python -m pytest|unittest ...

- the same, with PYTHONVALGRIND=pool;
- under the per-test verdicts, python -m memcheck pytest|unittest ..., with
  the extension's known bugs given as --known.

The desired result is silence but for the real bugs of the extension:
Memcheck reports no record of CPython's own, and each real bug at the
extension's own function, blamed by the verdicts on the tests that exercise
it.  tests/realext/FINDINGS.md lists the bugs, with their stacks.  A test
skips only when the extension's source cannot be downloaded.

Besides the packages, a sample of Cython's own runtime tests
(tests/realext/cython_run_tests.py: 34 files of its tests/run and
tests/memoryview) runs the same way (TestCythonRunTests).  The classes whose
name ends in FT run the Cython packages and the sample on build/python-ft
(free-threaded), when it is built.

The runs start when the module's tests start, two at a time (the machines
have 2 cores); all tests of a class read them.  REALEXT=KEY,KEY,... (a
class's NAME, with "-ft" for the free-threaded classes: markupsafe,
falcon-ft, cython-run, ...) starts only those classes' runs and skips the
others.  Measured CPU under Memcheck, the five C extensions' 15 runs: 5 min
48 s, so about 3 minutes of wall time on an idle 2-core machine (5 min 23 s
beside a whole-suite shard).  The four Cython classes on build/python: 12
min of CPU (falcon 5 min), on build/python-ft 15 min (falcon 9), and their
builds 4 and 2.5 min (FINDINGS.md: "Reproduce, and times").
"""

import concurrent.futures
import fnmatch
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET

import support
from memcheck.command import valgrind_command
from memcheck.report import Log

HERE = os.path.dirname(os.path.abspath(__file__))
REALEXT_DIR = os.path.join(HERE, "realext")
sys.path.insert(0, REALEXT_DIR)
import build as realext  # tests/realext/build.py  # noqa: E402
import cython_run_tests  # tests/realext/cython_run_tests.py  # noqa: E402

# The free-threaded build of the same source (make build-ft), if there is one.
PYTHON_FT = os.path.join(support.BUILD, "python-ft")

# Debian's python3-pytest (pure Python) serves build/python too.
DEBIAN_SITE = "/usr/lib/python3/dist-packages"

# pytest 7.2 on 3.13: plain asserts (its assertion rewriting predates 3.13),
# no plugins from the project's ini (-o addopts=), no cache in the tree.
PYTEST = ["pytest", "--assert=plain", "-o", "addopts=",
          "-p", "no:cacheprovider", "-q"]

# What runs of each suite, from its source tree (the runner's arguments,
# after "python -m").  Chosen to exercise every type and function of the C
# module, and to stay within about a minute of Memcheck each.
SUITES = {
    # All of it: 53 tests (the pure-Python twin included, via the fixture).
    "markupsafe": PYTEST + ["tests"],
    # The tests parametrized with the C module (-m c_extension: 662 of 1329),
    # without the ones that need plugins (pytest_codspeed, mypy) or objgraph
    # in a subprocess (test_leaks, test_circular_imports).
    "multidict": PYTEST + ["-m", "c_extension"] + [
        "tests/test_%s.py" % t for t in (
            "multidict", "mutable_multidict", "istr", "copy", "pickle",
            "types", "abc", "update", "guard", "incorrect_args")],
    # All of it.
    "xxhash": ["unittest", "discover", "-s", "tests", "-t", "."],
    # All of it: 111 tests.
    "ahocorasick": ["unittest", "unittests"],
    # The tests of the C backend (369 of 1134; the others run the pure-Python
    # and ctypes/cffi backends).
    "ijson": PYTEST + ["-k", "yajl2_c", "tests"],
    # All of it: 104 tests, half of them on the Cython FrozenList, half on
    # the pure-Python one.
    "frozenlist": PYTEST + ["tests"],
    # All of it: 47 tests, 20 on the Cython module (4 benchmarks skip:
    # pytest_codspeed is not installed).
    "propcache": PYTEST + ["tests"],
    # The files that exercise the translated modules: 654 tests (of 4412;
    # 86 of test_media_multipart skip: msgpack is not installed):
    # BufferedReader (test_buffered_reader, without its two largest and
    # its fragmented reads: 20 s of Memcheck for no other code), errors,
    # Request (forwarded), multipart (generators), converters, util.misc
    # and structures (test_utils' TestFalconUtils and TestContextType).
    # Importing falcon and its conftest under Memcheck takes 50 s of CPU of
    # the 100; test_request_attrs and test_utils' TestFalconTestingUtils
    # would add 50 s each.
    "falcon": PYTEST + [
        "--deselect",
        "tests/test_buffered_reader.py::test_irregular_large_read_until",
        "--deselect", "tests/test_buffered_reader.py::test_fragmented_reads"
        ] + ["tests/test_%s.py" % t for t in (
            "buffered_reader", "error", "request_forwarded",
            "media_multipart", "uri_converters", "cython")] + [
        "tests/test_utils.py::TestFalconUtils",
        "tests/test_utils.py::TestContextType"],
    # The sample, a line per file (the verdicts: CYTHON_RUN_VERDICTS).
    cython_run_tests.NAME: ["cython_run_tests", "--no-build"],
}

# Suites that write files into the current directory under fixed names
# (ahocorasick's TestIssue68 pickles to "TestIssue68.test_case1" and
# deletes it): two modes run at once, so each runs in its own directory,
# the tree on its path.
WRITES_INTO_CWD = {"ahocorasick"}

# The sample as unittest cases (its load_tests), for python -m memcheck:
# a verdict per doctest.
CYTHON_RUN_VERDICTS = ["unittest", "cython_run_tests"]

MODES = ("native", "malloc", "pool", "dev", "verdicts")


# One fetch and build at a time: the runs of one extension start two at a
# time, and in a fresh clone both would unpack the same tree at once (one of
# them failed, and its class was skipped).
_build_lock = threading.Lock()


class Run:
    """One run of an extension's suite: natively, under the gating command
    in malloc or pool mode, or under python -m memcheck with the KNOWN
    patterns."""

    def __init__(self, name, mode, known=(), python=support.PYTHON):
        self.name, self.mode = name, mode
        suffix = subprocess.run(
            [python, "-c", "import sysconfig; "
             "print(sysconfig.get_config_var('EXT_SUFFIX'))"],
            check=True, capture_output=True, text=True).stdout.strip()
        with _build_lock:
            if name == cython_run_tests.NAME:
                tree = cython_run_tests.build(python)
                path = [REALEXT_DIR]
                self.libraries = [cython_run_tests.module_name(f) + suffix
                                  for f in cython_run_tests.SAMPLE]
            else:
                tree, directory = realext.build(name, python)
                path = [directory]
                self.libraries = realext.libraries(name, suffix)
        env = {k: v for k, v in os.environ.items()
               if k not in support.UNSET_FOR_CPYTHON_TESTS}
        if name in WRITES_INTO_CWD:
            path.append(tree)
        env["PYTHONPATH"] = os.pathsep.join(path + [DEBIAN_SITE])
        if mode == "pool":
            env["PYTHONVALGRIND"] = "pool"
        options = ["-X", "dev"] if mode == "dev" else []
        suite = SUITES[name]
        with tempfile.TemporaryDirectory() as tmp:
            xml_file = os.path.join(tmp, "memcheck.xml")
            junit_file = os.path.join(tmp, "junit.xml")
            if mode == "verdicts":
                if name == cython_run_tests.NAME:
                    suite = CYTHON_RUN_VERDICTS
                cmd = [python, "-m", "memcheck", "--xml-file", xml_file,
                       "--junit-xml", junit_file]
                cmd += [arg for pattern in known for arg in ("--known", pattern)]
                cmd += suite
            elif mode == "native":
                cmd = [python, "-m", *suite]
            else:
                cmd = valgrind_command([python, *options, "-m", *suite],
                                       support.MEMCHECK_GATE,
                                       xml_file=xml_file)
            # /usr/bin/time's user+sys: the CPU the run takes, whatever else
            # loads the machine.
            times = os.path.join(tmp, "times")
            cmd = ["/usr/bin/time", "-o", times, "-f", "%U %S"] + cmd
            start = time.monotonic()
            cwd = tmp if name in WRITES_INTO_CWD else tree
            self.proc = subprocess.run(cmd, cwd=cwd, env=env, text=True,
                                       capture_output=True, timeout=1800)
            self.seconds = time.monotonic() - start
            with open(times) as f:
                self.cpu_seconds = sum(map(float, f.read().split()[-2:]))
            self.log = Log(xml_file) if mode != "native" else None
            self.junit = (_junit_statuses(junit_file)
                          if mode == "verdicts" else {})
        self.errors = self.log.findings if self.log else []
        self.output = self.proc.stdout + self.proc.stderr

    def leaks(self):
        return [e for e in self.errors if e.kind.startswith("Leak_")]

    def memory_errors(self):
        return [e for e in self.errors if not e.kind.startswith("Leak_")]

    def at(self, error, function):
        """Whether FUNCTION, in the extension's own code, is in ERROR's
        stack."""
        return any(frame.fn == function
                   and any(frame.obj.endswith("/" + library)
                           for library in self.libraries)
                   for frame in error.frames)

    def describe(self, errors):
        return "\n".join("%s %d bytes: %s" % (e.kind, e.bytes,
                                             " < ".join(e.functions[:16]))
                         for e in errors)


def _junit_statuses(path):
    """test id -> 'passed', 'failed', 'error' or 'skipped' (known or
    skipped), from the JUnit XML that python -m memcheck wrote."""
    statuses = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        status = "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                status = "failed" if tag == "failure" else tag
        statuses[case.get("classname") + "." + case.get("name")] = status
    return statuses


# Tools/fetch-extension and Memcheck runs, two at a time (2 cores), started
# when the module's tests start.
_pool = None
_runs = {}

# REALEXT=KEY,...: only these classes (RealExtension.key()).
SELECTED_ENV = "REALEXT"


def _classes(base=None):
    """Every class of checks, subclasses of subclasses too."""
    for cls in (base or RealExtension).__subclasses__():
        if issubclass(cls, unittest.TestCase):
            yield cls
        yield from _classes(cls)


def _selected(cls):
    """REALEXT=KEY,...: those classes; REALEXT=all: every class; unset
    (make check): the classes IN_CHECK, a representative part (make
    check-realext runs all)."""
    chosen = os.environ.get(SELECTED_ENV)
    if not chosen:
        return cls.IN_CHECK
    return chosen == "all" or cls.key() in chosen.split(",")


def _modes(cls):
    """The runs of CLS: -X dev (CPython's debug hooks, told to Memcheck,
    and more) in make check-realext, in make check for the classes
    DEV_IN_CHECK; not on the free-threaded build, whose debug hooks are
    not told to Memcheck."""
    dev = (cls.PYTHON != PYTHON_FT
           and (bool(os.environ.get(SELECTED_ENV)) or cls.DEV_IN_CHECK))
    return [m for m in MODES if m != "dev" or dev]


def setUpModule():
    global _pool
    if not os.path.exists(os.path.join(DEBIAN_SITE, "pytest")):
        raise unittest.SkipTest("Debian's python3-pytest is not installed")
    _pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    for cls in _classes():
        if _selected(cls) and os.path.exists(cls.PYTHON):
            for mode in _modes(cls):
                _runs[cls, mode] = _pool.submit(Run, cls.NAME, mode,
                                                cls.KNOWN, cls.PYTHON)


def tearDownModule():
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)


class RealExtension:
    """The checks of one extension.  A subclass names it in NAME and
    describes its real bugs:

    KNOWN_BUGS: functions of the extension at which Memcheck reports a
        leak "definitely lost" (the allocation happens there);
    LEAKED_OBJECTS: functions of CPython that made objects which the
        extension leaks a reference to (the allocation is CPython's, the
        missing Py_DECREF the extension's: FINDINGS.md names each);
    KNOWN_ERRORS: kinds of memory error that the extension makes;
    KNOWN: the --known patterns of its verdict run (functions, test ids);
    BLAMED: function or test-id pattern -> fnmatch pattern of the test ids
        that the verdicts must blame for the findings it matches;
    PYTHON: the interpreter (build/python-ft: the class skips when it is
        not built)."""

    NAME = None
    PYTHON = support.PYTHON
    IN_CHECK = True
    DEV_IN_CHECK = False
    KNOWN_BUGS = ()
    LEAKED_OBJECTS = ()
    KNOWN_ERRORS = ()
    KNOWN = ()
    BLAMED = {}

    @classmethod
    def key(cls):
        """The class's name in REALEXT."""
        return cls.NAME + ("-ft" if cls.PYTHON == PYTHON_FT else "")

    @classmethod
    def setUpClass(cls):
        if not _selected(cls):
            raise unittest.SkipTest("not in %s=%s" % (
                SELECTED_ENV, os.environ.get(SELECTED_ENV, "(make check's part)")))
        if not os.path.exists(cls.PYTHON):
            raise unittest.SkipTest("%s is not built" % cls.PYTHON)
        cls.runs = {}
        for mode in _modes(cls):
            try:
                run = cls.runs[mode] = _runs[cls, mode].result()
            except realext.FetchError as e:
                raise unittest.SkipTest("cannot download %s: %s"
                                        % (cls.NAME, e))
            print("\n%s, %s: %d Memcheck records, %.0f s (%.0f s of CPU)"
                  % (cls.key(), mode, len(run.errors), run.seconds,
                     run.cpu_seconds), file=sys.stderr)

    def gated_runs(self):
        """(mode, run) of the runs under the gating command."""
        return [(mode, self.runs[mode]) for mode in ("malloc", "pool", "dev")
                if mode in self.runs]

    def is_extensions_leak(self, run, leak):
        """Whether LEAK is a real leak of the extension: definitely lost
        at one of KNOWN_BUGS, or of an object of LEAKED_OBJECTS."""
        return leak.kind == "Leak_DefinitelyLost" and (
            any(run.at(leak, f) for f in self.KNOWN_BUGS)
            or any(f in leak.functions for f in self.LEAKED_OBJECTS))

    def test_suite_passes_natively(self):
        run = self.runs["native"]
        self.assertEqual(run.proc.returncode, 0, run.output[-3000:])
        self.assertNotRegex(run.output, r"\b(failed|FAILED|errors?=)",
                            run.output[-3000:])

    def test_suite_passes(self):
        # The suite's own verdict: 0, or Memcheck's 99 for its records
        # (the tests below judge those).
        for mode, run in self.gated_runs():
            with self.subTest(mode=mode):
                self.assertIn(run.proc.returncode, (0, 99),
                              run.output[-3000:])
                self.assertNotRegex(run.output,
                                    r"\b(failed|FAILED|errors?=)",
                                    run.output[-3000:])

    def test_no_memory_errors(self):
        # No invalid read or write, no use of uninitialised values, no
        # invalid free: neither CPython's nor the extension's, but for the
        # extension's known ones.
        for mode, run in self.gated_runs():
            errors = [e for e in run.memory_errors()
                      if e.kind not in self.KNOWN_ERRORS]
            with self.subTest(mode=mode):
                self.assertEqual(errors, [], run.describe(errors))

    def test_only_the_extensions_bugs(self):
        # Silence but for the real leaks: every object that the extension
        # keeps (in C statics, module state, heap types) is alive, CPython's
        # own structures are reachable or freed at exit.  What is left is
        # the extension's leaks, and "indirectly lost": their contents.
        for mode, run in self.gated_runs():
            definite = [e for e in run.leaks()
                        if self.is_extensions_leak(run, e)]
            other = [e for e in run.leaks() if e not in definite
                     and not (definite and e.kind == "Leak_IndirectlyLost")]
            with self.subTest(mode=mode):
                self.assertEqual(other, [], "%d records, %d bytes:\n%s" % (
                    len(other), sum(e.bytes for e in other),
                    run.describe(other)))

    def test_known_bugs_found(self):
        # Exactness: each real leak is reported, "definitely lost" with the
        # extension's leaking function in its stack.
        for mode, run in self.gated_runs():
            for function in self.KNOWN_BUGS:
                with self.subTest(mode=mode, function=function):
                    self.assertTrue(
                        any(e.kind == "Leak_DefinitelyLost"
                            and run.at(e, function) for e in run.leaks()),
                        "no definitely lost record at %s:\n%s"
                        % (function, run.describe(run.leaks())))

    def test_verdicts(self):
        # python -m memcheck: every finding is a known bug (exit status 0),
        # and each known bug is blamed on the tests that exercise it.
        run = self.runs["verdicts"]
        failed = sorted(t for t, s in run.junit.items()
                        if s in ("failed", "error"))
        self.assertEqual(failed, [], run.output[-5000:])
        self.assertEqual(run.proc.returncode, 0, run.output[-3000:])
        for pattern, tests in self.BLAMED.items():
            with self.subTest(pattern=pattern):
                blamed = {f.test for f in run.errors
                          if f.test and (fnmatch.fnmatchcase(f.test, pattern)
                                         or any(fnmatch.fnmatchcase(fn, pattern)
                                                for fn in f.functions))}
                self.assertTrue(blamed, "no test blamed for %s" % pattern)
                wrong = sorted(t for t in blamed
                               if not fnmatch.fnmatchcase(t, tests))
                self.assertEqual(wrong, [], "blamed for %s" % pattern)


class TestMarkupsafe(RealExtension, unittest.TestCase):
    """markupsafe 2.1.5: single-phase init; `static PyObject *markup` in
    _speedups.c holds the Markup class (a str subclass defined in Python)."""

    DEV_IN_CHECK = True

    NAME = "markupsafe"

    # Silent.  Before the exit-time walk kept what C statics hold: 58
    # "possibly lost" records, 36 KB (code objects' tuples, bytes and str
    # from marshal, __slots__ tuples, subclass registries, and an instance
    # dict shared with its inline values).  FINDINGS.md, "markupsafe".


class TestMultidict(RealExtension, unittest.TestCase):
    """multidict 6.4.3: multi-phase init with module state; four heap types
    from PyType_FromModuleAndSpec, CIMultiDict and CIMultiDictProxy with
    heap-type bases (MultiDict, MultiDictProxy)."""

    NAME = "multidict"
    # 623 tests, about 5 1/2 min of CPU under Memcheck: make check-realext
    # (make check keeps under its hour with the Cython corpus on both
    # builds).
    IN_CHECK = False

    # Real reference leaks of multidict 6.4.3 (FINDINGS.md, "multidict"):
    KNOWN_BUGS = (
        # items() | other: the (identity, value) tuple of PyTuple_Pack and
        # the identities of _multidict_itemsview_parse_item never released.
        "multidict_itemsview_or2",
        # items() - other (and ^): the same two.
        "multidict_itemsview_sub1",
        # CIMultiDict.pop(missing, default): the identity of the key is not
        # released when no pair matches.
        "pair_list_pop_one",
    )

    # The tp_dealloc of each of its heap types (multidict_tp_dealloc,
    # multidict_proxy_tp_dealloc, multidict_iter_dealloc,
    # multidict_view_dealloc) frees the object without
    # Py_DECREF(Py_TYPE(self)): every instance leaks a reference to its
    # type, so the types that module_exec makes, and the Python subclasses
    # that the tests derive, are never freed.  At exit one block of each
    # type's cycle (the type, its dict, a method descriptor, a subclass
    # registry entry, the bases tuple that module_exec packs: which one
    # varies from run to run) is definitely lost, the rest indirectly:
    # blocks made while a type was created, or by module_exec for its
    # types.  The exit walk of earlier builds kept every type reachable and
    # hid it.
    LEAKED_OBJECTS = ("_PyType_FromMetaclass_impl", "type_new_impl",
                      "type_ready", "module_exec")
    KNOWN = KNOWN_BUGS + LEAKED_OBJECTS + ("*::test_multidict_subclassing*",
                                           "*::test_subclassed_multidict*")
    BLAMED = {
        "type_new_impl": "*::test_*subclass*",
        "multidict_itemsview_or2": "*::TestCIMultiDict::test_items_case_insensitive_ror*",
        "multidict_itemsview_sub1":
            "*::TestCIMultiDict::test_items_case_insensitive_*",
        "pair_list_pop_one": "*::TestCIMutableMultiDict::test_pop_*",
    }

    # Besides those, silent: the 14 "possibly lost" records of heap-type
    # subclass registries (add_subclass) of the first builds are gone.
    # FINDINGS.md, "multidict".


class TestXxhash(RealExtension, unittest.TestCase):
    """xxhash 3.2.0: wraps Debian's libxxhash; single-phase init, static
    PyTypeObjects."""

    NAME = "xxhash"


class TestAhocorasick(RealExtension, unittest.TestCase):
    """pyahocorasick 1.4.1: single-phase init, static PyTypeObjects; the
    trie's nodes are C structs in PyMem_ memory that hold Python objects,
    and link their children through a packed struct (pointers that
    Memcheck's leak search cannot see: it needs them aligned)."""

    NAME = "ahocorasick"

    # Real bugs of pyahocorasick 1.4.1 (FINDINGS.md, "ahocorasick"):
    KNOWN_BUGS = (
        # Automaton.dump(): Py_BuildValue("OOO", ...) takes new references
        # to its three lists, which are never released (and each tuple
        # appended to them keeps a second reference).
        "automaton_dump",
        # Automaton.__reduce__() (pickling): Py_BuildValue("O(OiiiiiO)")
        # takes new references to the list of bytes and the list of values,
        # never released.
        "automaton___reduce__",
    )
    # Automaton.save() and pickling write the trie's C structs to a file
    # with their uninitialised padding: "Syscall param write(buf) points
    # to uninitialised byte(s)".
    KNOWN_ERRORS = ("SyscallParam",)
    KNOWN = KNOWN_BUGS + ("unittests.TestLoadSave.test_save*",
                          "unittests.TestIssue68.*")
    BLAMED = {
        "automaton_dump": "unittests.TestDump.*",
        "automaton___reduce__": "unittests.Test[PI]*",   # pickle.dump()
        "write": "unittests.Test[LI]*",      # the SyscallParam errors
    }


class TestIjson(RealExtension, unittest.TestCase):
    """ijson 3.4.0, its C backend (yajl2_c): multi-phase init with module
    state, a dozen types; wraps Debian's libyajl; pytest, a fixture
    parametrised over backends and input types."""

    NAME = "ijson"

    # Real reference leaks of ijson 3.4.0 (FINDINGS.md, "ijson"):
    KNOWN_BUGS = (
        # kvitems(): map keys made by map_key (basic_parse_basecoro.c:114)
        # are never released.
        "map_key",
    )
    LEAKED_OBJECTS = (
        # is_gen_coroutine() (async_reading_generator.c:98) never releases
        # the gi_code it gets: the code object that types.coroutine made
        # (code.replace()) for the test's read() leaks.
        "code_replace_impl",
        # async_reading_generator_next() returns on a parse error without
        # releasing the buffer that read() gave it: the test's input leaks,
        # a constant of the test module (parsed, or read from its .pyc) or
        # bytes it built.
        "_PyPegen_constant_from_string", "r_object", "bytes_concat",
    )
    KNOWN = ("map_key", "*::test_multiple_values?yajl2_c-async*",
             "(outside tests)")
    BLAMED = {
        "map_key": "*::test_kvitems_*",
        "bytes_concat": "*::test_multiple_values?yajl2_c-async*",
    }


class TestFrozenlist(RealExtension, unittest.TestCase):
    """frozenlist 1.8.0: Cython, translated to C++; one cdef class with an
    object field (a list) and a std::atomic[bint]; freethreading_compatible."""

    NAME = "frozenlist"


class TestPropcache(RealExtension, unittest.TestCase):
    """propcache 0.5.2: Cython; two cdef classes that are descriptors, with
    object fields (the wrapped function, its name and docstring), caching
    into the instance's __dict__ or a dict attribute;
    freethreading_compatible."""

    NAME = "propcache"
    DEV_IN_CHECK = True


class TestFalcon(RealExtension, unittest.TestCase):
    """falcon 4.3.1: Cython; its three .pyx (a cdef class BufferedReader
    with object fields and C buffers, URI decoding on C strings) and eleven
    of its pure-Python modules translated by Cython (Python classes with
    __slots__ and properties, exception hierarchies, MutableMapping
    subclasses, closures, generators and async generators)."""

    NAME = "falcon"
    # 316 s of CPU (521 s on build/python-ft): make check-realext.
    IN_CHECK = False


class TestCythonRunTests(RealExtension, unittest.TestCase):
    """Cython 3.1.6's own runtime tests, a sample of 34 files
    (tests/realext/cython_run_tests.py): Python and cdef classes, closures,
    generators, coroutines, exceptions, module globals, memoryviews; each
    file a module, its doctests run."""

    NAME = cython_run_tests.NAME

    # Leaks of the tests' own support code, not of Cython's runtime
    # (FINDINGS.md, "Cython's tests: leaks of their own support code"):
    KNOWN_BUGS = (
        # MockBuffer (tests/buffers/mockbuffers.pxi, included by memslice
        # and memoryview): __dealloc__ frees no indirect buffer ("# must
        # recursively free indirect..."): its pointer arrays, the
        # sub-buffers and the objects stored in them leak.
        "__pyx_f_8memslice_10MockBuffer_create_indirect_buffer",
        "__pyx_f_10memoryview_10MockBuffer_create_indirect_buffer",
        # cythonarray's test_array_from_pointer_3d: getp() mallocs the data
        # of a cython.view.array made without callback_free_data.
        "__pyx_f_11cythonarray_getp",
    )
    KNOWN = KNOWN_BUGS
    BLAMED = {
        "*MockBuffer_create_indirect_buffer": "mem*.*",
    }


class TestFrozenlistFT(TestFrozenlist):
    """frozenlist, on build/python-ft."""

    PYTHON = PYTHON_FT


class TestPropcacheFT(TestPropcache):
    """propcache, on build/python-ft."""

    PYTHON = PYTHON_FT


class TestFalconFT(TestFalcon):
    """falcon, on build/python-ft (its modules enable the GIL at import)."""

    PYTHON = PYTHON_FT


class TestCythonRunTestsFT(TestCythonRunTests):
    """The sample of Cython's tests, on build/python-ft."""

    PYTHON = PYTHON_FT
    # 193 s of CPU: make check-realext (the sample runs in make check on
    # build/python).
    IN_CHECK = False


if __name__ == "__main__":
    unittest.main()
