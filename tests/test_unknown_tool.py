"""Under a Valgrind whose tool cannot be told, or is not known to us,
PyMem_/PyObject_ go to malloc(), as CPython's original --with-valgrind did
under every tool: a heap-tracking tool must never silently see pymalloc's
arenas instead of the blocks.

Valgrind's launcher runs the tool executable it finds in VALGRIND_LIB, so a
copy of Memcheck's files can play both cases:
  - in a directory with no "/valgrind/" component, /proc/self/maps names no
    Valgrind tool (as on a platform without /proc): the tool is "unknown";
  - Memcheck's executable copied as "newtool-<platform>" is a tool whose
    name we do not know."""

import glob
import os
import shutil
import tempfile
import unittest

import support

LIBEXEC = "/usr/libexec/valgrind"
REPORT = "import _valgrind; print(_valgrind.tool(), _valgrind.mode())"
LEAK = ("import _valgrind, seededbugs; print(_valgrind.tool(), "
        "_valgrind.mode()); seededbugs.bug_leak_float()")


def copy_memcheck(libdir, tool):
    """Copy Memcheck's executable and preload library into LIBDIR as TOOL's
    (copies, not links: /proc/self/maps shows a link's target)."""
    os.makedirs(libdir)
    for name in ("vgpreload_core-amd64-linux.so", "default.supp"):
        shutil.copy(os.path.join(LIBEXEC, name), libdir)
    shutil.copy(os.path.join(LIBEXEC, "memcheck-amd64-linux"),
                os.path.join(libdir, tool + "-amd64-linux"))
    shutil.copy(os.path.join(LIBEXEC, "vgpreload_memcheck-amd64-linux.so"),
                os.path.join(libdir, "vgpreload_%s-amd64-linux.so" % tool))


@unittest.skipUnless(glob.glob(os.path.join(LIBEXEC, "memcheck-amd64-*")),
                     "needs Valgrind's amd64 Memcheck in " + LIBEXEC)
class UnknownTool(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.untold = os.path.join(cls.tmp, "lib")
        copy_memcheck(cls.untold, "memcheck")
        cls.renamed = os.path.join(cls.tmp, "renamed", "valgrind")
        copy_memcheck(cls.renamed, "newtool")
        cls.ext_dir = support.build_extension(
            os.path.join(support.TOP, "tests", "seededbugs", "seededbugs.c"),
            "seededbugs")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def run_under(self, libdir, tool, code, env=None):
        run_env = {"VALGRIND_LIB": libdir, "PYTHONPATH": self.ext_dir}
        run_env.update(env or {})
        proc, errors = support.valgrind(["-c", code], tool=tool, env=run_env,
                                        options=support.MEMCHECK_GATE)
        return proc, errors

    def test_tool_that_cannot_be_told_gets_malloc(self):
        proc, errors = self.run_under(self.untold, "memcheck", REPORT)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.split(), ["unknown", "malloc"])
        self.assertEqual(errors, [])

    def test_tool_of_unknown_name_gets_malloc(self):
        proc, errors = self.run_under(self.renamed, "newtool", REPORT)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.split(), ["newtool", "malloc"])
        self.assertEqual(errors, [])

    def test_pool_needs_a_known_memcheck(self):
        # Pool mode speaks Memcheck's client requests: asked for under a
        # tool that cannot be told, malloc mode applies.
        proc, _ = self.run_under(self.untold, "memcheck", REPORT,
                                 {"PYTHONVALGRIND": "pool"})
        self.assertEqual(proc.stdout.split(), ["unknown", "malloc"])

    def test_leak_seen_when_the_tool_cannot_be_told(self):
        # The point of the fallback: Memcheck, unrecognised, still sees a
        # leaked object at the function that leaked it.
        proc, errors = self.run_under(self.untold, "memcheck", LEAK)
        self.assertEqual(proc.stdout.split(), ["unknown", "malloc"])
        self.assertEqual(proc.returncode, 99, proc.stderr)
        leaks = [e for e in errors if e.kind == "Leak_DefinitelyLost"]
        self.assertEqual(len(leaks), 1, errors)
        self.assertIn("bug_leak_float", leaks[0].functions)


if __name__ == "__main__":
    unittest.main()
