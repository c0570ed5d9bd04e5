"""Real third-party C extensions, with their own test suites, under the
leak-gating Memcheck command.

Each extension of tests/realext/extensions.conf is fetched from Debian's
archive (tools/fetch-extension: pinned by sha256), built against build/python
with plain gcc (tests/realext/build.py), and a representative part of its
own suite runs under

    valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \\
        --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \\
        build/python -m pytest|unittest ...

The desired result is silence: Memcheck reports nothing but the real bugs of
the extension, and those as "definitely lost" at the extension's own
function.  tests/realext/FINDINGS.md lists what Memcheck reports today and
why.  A test skips only when the extension's source cannot be downloaded.

Each suite runs once, two at a time (the machines have 2 cores), when the
module's tests start; all tests of its class read that one run.  Measured
CPU under Memcheck: markupsafe 43-48 s, multidict 73-78 s, xxhash 7-9 s, so
about 80 s of wall time on an idle 2-core machine (6 to 7 minutes on a
heavily loaded one).
"""

import concurrent.futures
import os
import subprocess
import sys
import tempfile
import time
import unittest

import support
from memcheck.command import valgrind_command
from memcheck.report import Log

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "realext"))
import build as realext  # tests/realext/build.py  # noqa: E402

# Debian's python3-pytest (pure Python) serves build/python too.
DEBIAN_SITE = "/usr/lib/python3/dist-packages"

# pytest 7.2 on 3.13: plain asserts (its assertion rewriting predates 3.13),
# no plugins from the project's ini (-o addopts=), no cache in the tree.
PYTEST = ["-m", "pytest", "--assert=plain", "-o", "addopts=",
          "-p", "no:cacheprovider", "-q"]

# What runs of each suite, from its source tree.  Chosen to exercise every
# type and function of the C module, and to stay within about a minute of
# Memcheck each on an idle 2-core machine.
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
    "xxhash": ["-m", "unittest", "discover", "-s", "tests", "-t", "."],
}


class Run:
    """One run of an extension's suite under the gating command."""

    def __init__(self, name, python=support.PYTHON):
        self.name = name
        tree, path = realext.build(name, python)
        suffix = subprocess.run(
            [python, "-c", "import sysconfig; "
             "print(sysconfig.get_config_var('EXT_SUFFIX'))"],
            check=True, capture_output=True, text=True).stdout.strip()
        self.library = realext.RECIPES[name]["module"].rsplit(".", 1)[-1] + suffix
        env = dict(os.environ, PYTHONPATH=path + os.pathsep + DEBIAN_SITE)
        with tempfile.TemporaryDirectory() as tmp:
            xml_file = os.path.join(tmp, "memcheck.xml")
            # /usr/bin/time's user+sys: the CPU the run takes, whatever else
            # loads the machine.
            times = os.path.join(tmp, "times")
            cmd = (["/usr/bin/time", "-o", times, "-f", "%U %S"]
                   + valgrind_command([python, *SUITES[name]],
                                      support.MEMCHECK_GATE,
                                      xml_file=xml_file))
            start = time.monotonic()
            self.proc = subprocess.run(cmd, cwd=tree, env=env, text=True,
                                       capture_output=True, timeout=1800)
            self.seconds = time.monotonic() - start
            with open(times) as f:
                self.cpu_seconds = sum(map(float, f.read().split()[-2:]))
            log = Log(xml_file)
        self.errors = log.findings
        self.output = self.proc.stdout + self.proc.stderr

    def leaks(self):
        return [e for e in self.errors if e.kind.startswith("Leak_")]

    def memory_errors(self):
        return [e for e in self.errors if not e.kind.startswith("Leak_")]

    def at(self, error, function):
        """Whether FUNCTION, in the extension's own code, is in ERROR's
        stack."""
        return any(frame.fn == function
                   and frame.obj.endswith("/" + self.library)
                   for frame in error.frames)

    def known_bug(self, error, functions):
        """Whether ERROR is a real leak of the extension: definitely lost
        at one of FUNCTIONS."""
        return (error.kind == "Leak_DefinitelyLost"
                and any(self.at(error, f) for f in functions))

    def describe(self, errors):
        return "\n".join("%s %d bytes: %s" % (e.kind, e.bytes,
                                             " < ".join(e.functions[:16]))
                         for e in errors)


# Tools/fetch-extension and Memcheck runs, two at a time (2 cores), started
# when the module's tests start.
_pool = None
_runs = {}


def setUpModule():
    global _pool
    if not os.path.exists(os.path.join(DEBIAN_SITE, "pytest")):
        raise unittest.SkipTest("Debian's python3-pytest is not installed")
    _pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    for name in SUITES:
        _runs[name] = _pool.submit(Run, name)


def tearDownModule():
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)


class RealExtension:
    """The checks of one extension; a subclass names it in NAME and lists
    the extension's real leaks in KNOWN_BUGS: the functions of its own at
    which Memcheck finds them "definitely lost"."""

    NAME = None
    KNOWN_BUGS = ()

    @classmethod
    def setUpClass(cls):
        try:
            cls.run_ = _runs[cls.NAME].result()
        except realext.FetchError as e:
            raise unittest.SkipTest("cannot download %s: %s" % (cls.NAME, e))
        print("\n%s: %d Memcheck records, %.0f s (%.0f s of CPU)"
              % (cls.NAME, len(cls.run_.errors), cls.run_.seconds,
                 cls.run_.cpu_seconds), file=sys.stderr)

    def test_suite_passes(self):
        # The suite's own verdict: 0, or Memcheck's 99 for its records
        # (the tests below judge those).
        run = self.run_
        self.assertIn(run.proc.returncode, (0, 99), run.output[-3000:])
        self.assertNotRegex(run.output, r"\b(failed|FAILED|errors?=)",
                            run.output[-3000:])

    def test_no_memory_errors(self):
        # No invalid read or write, no use of uninitialised values, no
        # invalid free: neither CPython's nor the extension's.
        run = self.run_
        self.assertEqual(run.memory_errors(), [],
                         run.describe(run.memory_errors()))

    def test_only_the_extensions_bugs(self):
        # Silence but for the real leaks: every object that the extension
        # keeps (in C statics, module state, heap types) is alive, CPython's
        # own structures are reachable or freed at exit.  What is left is
        # "definitely lost" at a function of KNOWN_BUGS, or "indirectly
        # lost": the contents of such a block.
        run = self.run_
        definite = [e for e in run.leaks()
                    if run.known_bug(e, self.KNOWN_BUGS)]
        other = [e for e in run.leaks() if e not in definite
                 and not (definite and e.kind == "Leak_IndirectlyLost")]
        self.assertEqual(other, [], "%d records, %d bytes:\n%s" % (
            len(other), sum(e.bytes for e in other),
            run.describe(other)))

    def test_known_bugs_found(self):
        # Exactness: each real leak is reported, "definitely lost" with the
        # extension's leaking function in its stack.
        run = self.run_
        for function in self.KNOWN_BUGS:
            with self.subTest(function=function):
                self.assertTrue(
                    any(run.known_bug(e, [function]) for e in run.leaks()),
                    "no definitely lost record at %s:\n%s"
                    % (function, run.describe(run.leaks())))


class TestMarkupsafe(RealExtension, unittest.TestCase):
    """markupsafe 2.1.5: single-phase init; `static PyObject *markup` in
    _speedups.c holds the Markup class (a str subclass defined in Python)."""

    NAME = "markupsafe"

    # Left: one "possibly lost" record, 192 bytes: an instance dict that
    # CPython materialised (_PyObject_MaterializeManagedDict, from
    # PyObject_GenericGetDict) for an object the Markup class keeps alive.
    # The exit-time walk does not reach it yet.  Gone since the walk keeps
    # what C statics hold (57 records, 36 KB, before): code objects' tuples,
    # bytes and str from marshal, __slots__ tuples, subclass registries.
    # FINDINGS.md, "markupsafe".
    @unittest.expectedFailure
    def test_only_the_extensions_bugs(self):
        super().test_only_the_extensions_bugs()


class TestMultidict(RealExtension, unittest.TestCase):
    """multidict 6.4.3: multi-phase init with module state; four heap types
    from PyType_FromModuleAndSpec, CIMultiDict and CIMultiDictProxy with
    heap-type bases (MultiDict, MultiDictProxy)."""

    NAME = "multidict"

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

    # Besides those, silent: the 14 "possibly lost" records of heap-type
    # subclass registries (add_subclass) that it had before the exit-time
    # walk kept them are gone.  FINDINGS.md, "multidict".


class TestXxhash(RealExtension, unittest.TestCase):
    """xxhash 3.2.0: wraps Debian's libxxhash; single-phase init, static
    PyTypeObjects."""

    NAME = "xxhash"


if __name__ == "__main__":
    unittest.main()
