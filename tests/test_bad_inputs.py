"""Bad input stops the build with a message that says what to do, and leaves
no half-prepared tree behind."""

import concurrent.futures
import os
import shutil
import subprocess
import tempfile
import unittest

import support

TOOLS = os.path.join(support.TOP, "tools")


def run(cmd, env=None, cwd=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(cmd, env=full_env, cwd=cwd, capture_output=True,
                          text=True)


def cached_tarball():
    proc = run([os.path.join(TOOLS, "fetch-source")])
    if proc.returncode != 0:
        raise AssertionError(proc.stderr)
    return proc.stdout.strip()


class Tarball(unittest.TestCase):
    def test_checksum_mismatch(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = os.path.join(tmp, "Python-3.13.5.tar.xz")
            with open(bad, "wb") as f:
                f.write(b"not the release")
            proc = run([os.path.join(TOOLS, "fetch-source")],
                       env={"CPYTHON_TARBALL": bad})
        self.assertEqual(proc.returncode, 1)
        self.assertIn("fails its checksum", proc.stderr)
        self.assertIn("93e583f243454e6e", proc.stderr)

    def test_missing_tarball(self):
        proc = run([os.path.join(TOOLS, "fetch-source")],
                   env={"CPYTHON_TARBALL": "/nonexistent/Python-3.13.5.tar.xz"})
        self.assertEqual(proc.returncode, 1)
        self.assertIn("no such file", proc.stderr)

    def test_genuine_tarball_accepted(self):
        tarball = cached_tarball()
        proc = run([os.path.join(TOOLS, "fetch-source")],
                   env={"CPYTHON_TARBALL": tarball})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.strip(), tarball)


class Series(unittest.TestCase):
    """prepare-source on a copy of the project whose series is broken."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        for name in ("tools", "overlay", "patches"):
            shutil.copytree(os.path.join(support.TOP, name),
                            os.path.join(self.tmp, name))
        shutil.copy(os.path.join(support.TOP, "source.conf"), self.tmp)
        # A prepared tree from an earlier, good run.
        self.src = os.path.join(self.tmp, "build", "src")
        os.makedirs(self.src)
        with open(os.path.join(self.src, ".prepared"), "w") as f:
            f.write("earlier\n")
        with open(os.path.join(self.src, "marker"), "w") as f:
            f.write("earlier tree\n")
        self.patches = os.path.join(self.tmp, "patches", "3.13")

    def prepare(self):
        # The copy's own build directory, not the one make exports.
        return run([os.path.join(self.tmp, "tools", "prepare-source")],
                   env={"CPYTHON_TARBALL": cached_tarball(),
                        "BUILD": os.path.join(self.tmp, "build")})

    def assertTreeUntouched(self):
        with open(os.path.join(self.src, "marker")) as f:
            self.assertEqual(f.read(), "earlier tree\n")
        with open(os.path.join(self.src, ".prepared")) as f:
            self.assertEqual(f.read(), "earlier\n")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "build", "staging")))

    def test_patch_that_does_not_apply(self):
        name = "obmalloc-decide-at-first-allocation.patch"
        path = os.path.join(self.patches, name)
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("static int running_on_valgrind = -1;",
                                 "static int running_on_valgrind = -2;"))
        proc = self.prepare()
        self.assertEqual(proc.returncode, 1)
        self.assertIn(name + " does not apply", proc.stderr)
        self.assertTreeUntouched()

    def test_series_names_a_missing_patch(self):
        with open(os.path.join(self.patches, "series"), "a") as f:
            f.write("no-such.patch\n")
        proc = self.prepare()
        self.assertEqual(proc.returncode, 1)
        self.assertIn("no-such.patch, which does not exist", proc.stderr)
        self.assertTreeUntouched()

    def test_empty_copy_of_a_release_applies_nothing(self):
        # A release that has a patch's change already carries an empty copy
        # of it: that patch is left out, the rest of the series applies.
        name = "xi-leaks-fixed-in-3.13.15.patch"
        os.makedirs(os.path.join(self.patches, "3.13.5"), exist_ok=True)
        open(os.path.join(self.patches, "3.13.5", name), "w").close()
        proc = self.prepare()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(self.src, "Python", "crossinterp.c")) as f:
            self.assertTrue("? _PyCrossInterpreterData_Release(data)\n"
                            in f.read(), "the empty copy's patch applied")
        with open(os.path.join(self.src, "Objects", "obmalloc.c")) as f:
            self.assertTrue('#include "pycore_valgrind.h"' in f.read(),
                            "the rest of the series did not apply")

    def test_overlay_must_not_replace_cpython_files(self):
        os.makedirs(os.path.join(self.tmp, "overlay", "Objects"), exist_ok=True)
        with open(os.path.join(self.tmp, "overlay", "Objects", "obmalloc.c"), "w") as f:
            f.write("/* replaced */\n")
        proc = self.prepare()
        self.assertEqual(proc.returncode, 1)
        self.assertIn("overlay/Objects/obmalloc.c exists in CPython", proc.stderr)
        self.assertTreeUntouched()


# The files the series hooks into: with --with-valgrind=no they must compile
# and contain nothing of the feature.
HOOKED_OBJECTS = ["Objects/obmalloc.o", "Python/preconfig.o", "Python/initconfig.o"]


def configure(args, extra=(), compile_hooked=False):
    """Run the prepared tree's configure in a scratch directory; optionally
    compile HOOKED_OBJECTS there.  Return (configure's process, pyconfig.h,
    the symbols of the compiled objects)."""
    obj = tempfile.mkdtemp()
    try:
        proc = run([os.path.join(support.BUILD, "src", "configure")]
                   + list(args) + list(extra), cwd=obj)
        pyconfig = ""
        if os.path.exists(os.path.join(obj, "pyconfig.h")):
            with open(os.path.join(obj, "pyconfig.h")) as f:
                pyconfig = f.read()
        symbols = None
        if compile_hooked and proc.returncode == 0:
            made = run(["make"] + HOOKED_OBJECTS, cwd=obj)
            if made.returncode == 0:
                symbols = run(["nm"] + HOOKED_OBJECTS, cwd=obj).stdout
        return proc, pyconfig, symbols
    finally:
        shutil.rmtree(obj)


class Configure(unittest.TestCase):
    """--with-valgrind=yes|no|auto.  The configure runs go in parallel."""

    @classmethod
    def setUpClass(cls):
        cases = {
            "yes_without_header": (["--with-valgrind=yes"],
                                   ["ac_cv_header_valgrind_valgrind_h=no"]),
            "bad_value": (["--with-valgrind=maybe"], []),
            "no": (["--with-valgrind=no"], [], True),
            "auto_without_header": ([], ["ac_cv_header_valgrind_valgrind_h=no"]),
            # No option at all: the default, auto, on this machine, which
            # has the header (the project's own build needs it).
            "auto_with_header": ([], []),
        }
        with concurrent.futures.ThreadPoolExecutor(len(cases)) as pool:
            futures = {k: pool.submit(configure, *v) for k, v in cases.items()}
            cls.results = {k: f.result() for k, f in futures.items()}

    def test_yes_without_header_stops(self):
        proc, _, _ = self.results["yes_without_header"]
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("valgrind/valgrind.h not found", proc.stderr)

    def test_bad_value_stops(self):
        proc, _, _ = self.results["bad_value"]
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("--with-valgrind=maybe: expected yes, no or auto", proc.stderr)

    def test_no_compiles_none_of_it(self):
        proc, pyconfig, symbols = self.results["no"]
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("/* #undef WITH_VALGRIND */", pyconfig)
        self.assertIsNotNone(symbols, "the hooked files do not compile")
        self.assertIn("_PyObject_Malloc", symbols)
        self.assertNotIn("_PyValgrind", symbols)
        self.assertNotIn("valgrind", symbols.lower())

    def test_auto_without_header_disables(self):
        proc, pyconfig, _ = self.results["auto_without_header"]
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("/* #undef WITH_VALGRIND */", pyconfig)

    def test_auto_with_header_enables(self):
        proc, pyconfig, _ = self.results["auto_with_header"]
        self.assertEqual(proc.returncode, 0, proc.stderr)
        checks = "\n".join(line for line in proc.stdout.splitlines()
                           if "valgrind" in line)
        self.assertIn("checking for --with-valgrind... auto", checks)
        self.assertRegex(checks, r"checking for valgrind/valgrind\.h"
                                 r"\.\.\. (\(cached\) )?yes")
        self.assertIn("#define WITH_VALGRIND 1", pyconfig)


if __name__ == "__main__":
    unittest.main()
