"""CPython's own checks of the code that the series adds, on the patched tree
of the interpreter under test (build/src for build/python):

- Argument Clinic: Modules/_valgrindmodule.c's generated code
  (Modules/clinic/_valgrindmodule.c.h and the checksums in the .c file) is
  what Tools/clinic/clinic.py generates, as CPython's `make clinic` leaves it.
- mypy with Lib/test/libregrtest/mypy.ini, as CPython's CI runs it (from
  the root of the tree): libregrtest, valgrind.py included, type-checks.
  Debian's mypy is older than the one CPython pins
  (Tools/requirements-dev.txt) and reports a few errors in the pristine
  release's own libregrtest; the patched tree must add none to those.
- patchcheck's whitespace checks (PatchcheckTest).
- the c-analyzer's globals check (GlobalsCheckTest).
- the NEWS entries a pull request needs (NewsEntriesTest), named and filed
  as blurb files them.
"""

import collections
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
OVERLAY = os.path.join(TOP, "overlay")
# The prepared source tree of the interpreter under test.
SRC = sysconfig.get_config_var("srcdir")

# The files Argument Clinic generates code in, relative to the tree.
CLINIC_FILE = os.path.join("Modules", "_valgrindmodule.c")
CLINIC_OUTPUTS = [CLINIC_FILE,
                  os.path.join("Modules", "clinic", "_valgrindmodule.c.h")]

MYPY_INI = os.path.join("Lib", "test", "libregrtest", "mypy.ini")
LIBREGRTEST = "Lib/test/libregrtest/"
# A line of mypy's output with --no-pretty: PATH:LINE: error: MESSAGE
MYPY_ERROR = re.compile(r"^(?P<path>[^:\s]+):\d+: error: (?P<message>.*)$")


# blurb's file name: Misc/NEWS.d/next/SECTION/DATE-TIME.ISSUE.NONCE.rst
NEWS_DIR = os.path.join("Misc", "NEWS.d", "next")
NEWS_NAME = re.compile(r"^\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d"
                       r"\.(gh-issue|bpo)-\d+\.\w+\.rst$")


def news_sections():
    """The sections of the release's Misc/NEWS, as directory names
    ("Core and Builtins": Core_and_Builtins, "Tools/Demos": Tools-Demos)."""
    with open(os.path.join(SRC, "Misc", "NEWS"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    return {lines[i].replace(" ", "_").replace("/", "-")
            for i in range(len(lines) - 1)
            if lines[i] and set(lines[i + 1]) == {"-"}
            and len(lines[i + 1]) == len(lines[i])}


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def pristine_tarball():
    """The release's tarball that make build prepared the tree from
    (tools/fetch-source), or None."""
    path = os.environ.get("CPYTHON_TARBALL")
    if path:
        return path if os.path.isfile(path) else None
    conf = {}
    with open(os.path.join(TOP, "source.conf")) as f:
        for line in f:
            match = re.match(r"\s*(\w+)=(\S+)", line)
            if match:
                conf.setdefault(match.group(1), match.group(2))
    path = os.path.join(TOP, "build", "downloads", "%s_%s.orig.tar.xz"
                        % (conf["DEBIAN_SOURCE_PACKAGE"], platform.python_version()))
    return path if os.path.isfile(path) else None


def extract_libregrtest(tarball, dest):
    """Extract the tarball's Lib/test/libregrtest into DEST; return the root
    of the tree it is in."""
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers()
                   if m.name.partition("/")[2].startswith(LIBREGRTEST)]
        if not members:
            raise AssertionError("%s has no %s" % (tarball, LIBREGRTEST))
        tar.extractall(dest, members, filter="data")
    return os.path.join(dest, members[0].name.partition("/")[0])


def overlay_files():
    """The series' new files, relative to the tree."""
    for root, dirs, files in os.walk(OVERLAY):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            yield os.path.relpath(os.path.join(root, name), OVERLAY)


def added_lines():
    """(file, line) of each line that the series' patches add to CPython's
    files (patches/3.13/series: the default release's copies)."""
    patches = os.path.join(TOP, "patches", "3.13")
    with open(os.path.join(patches, "series")) as f:
        names = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    for name in names:
        with open(os.path.join(patches, name), encoding="utf-8") as f:
            path = None
            for line in f:
                if line.startswith("+++ "):
                    path = line[len("+++ b/"):].rstrip("\n")
                elif line.startswith("+") and path is not None:
                    yield path, line[1:].rstrip("\n")


class PatchcheckTest(unittest.TestCase):
    """What `make patchcheck` (Tools/patchcheck/patchcheck.py) checks of a
    change's files: Python files as reindent.py leaves them, no tab in C
    files; and, as CPython's pre-commit hooks and review ask, no trailing
    whitespace.  On the overlay's files whole, and on the lines that the
    patches add to CPython's own files (whose old lines are CPython's)."""

    C_SUFFIXES = (".c", ".h")

    def test_python_files_reindented(self):
        sys.path.insert(0, os.path.join(SRC, "Tools", "patchcheck"))
        try:
            import reindent
        finally:
            del sys.path[0]
        reindent.dryrun = True
        reindent.makebackup = False
        files = [f for f in overlay_files() if f.endswith(".py")]
        self.assertGreater(len(files), 5)
        for path in files:
            with self.subTest(path=path):
                self.assertFalse(reindent.check(os.path.join(OVERLAY, path)),
                                 "reindent.py would change it")

    def test_no_tabs_in_c_files(self):
        for path in overlay_files():
            if path.endswith(self.C_SUFFIXES):
                with self.subTest(path=path):
                    self.assertNotIn(b"\t", read_bytes(os.path.join(OVERLAY, path)))
        for path, line in added_lines():
            if path.endswith(self.C_SUFFIXES):
                self.assertNotIn("\t", line, "a line added to %s" % path)

    def test_no_trailing_whitespace(self):
        for path in overlay_files():
            text = read_bytes(os.path.join(OVERLAY, path)).decode("utf-8")
            with self.subTest(path=path):
                bad = [i for i, line in enumerate(text.split("\n"), 1)
                       if line != line.rstrip()]
                self.assertEqual(bad, [], "lines with trailing whitespace")
                self.assertTrue(text.endswith("\n"), "no newline at the end")
        for path, line in added_lines():
            self.assertEqual(line, line.rstrip(),
                             "a line added to %s ends in whitespace" % path)


class GlobalsCheckTest(unittest.TestCase):
    """CPython's globals check (`make check-c-globals`:
    Tools/c-analyzer/check-c-globals.py) on the C files that the series
    adds or changes (the pristine release passes it whole): every static
    is registered (c-analyzer-valgrind-globals.patch).  The analyzer reads
    the tree in place, as an in-tree build leaves it: a copy of the tree
    gets the build's pyconfig.h and generated frozen-module headers."""

    def series_c_files(self):
        files = {f for f in overlay_files() if f.endswith(".c")}
        files |= {path for path, _ in added_lines() if path.endswith(".c")}
        files.add(os.path.join("Objects", "obmalloc.c"))   # its .h files
        return sorted(files)

    def test_no_unsupported_global(self):
        builddir = sysconfig.get_config_var("abs_builddir")
        with tempfile.TemporaryDirectory() as tmp:
            tree = os.path.join(tmp, "src")
            shutil.copytree(SRC, tree, symlinks=True, ignore=shutil.ignore_patterns(
                "Lib", "Doc", ".git", "*.o", "__pycache__"))
            shutil.copy(os.path.join(builddir, "pyconfig.h"), tree)
            frozen = os.path.join(builddir, "Python", "frozen_modules")
            for name in os.listdir(frozen):
                if name.endswith(".h"):
                    shutil.copy(os.path.join(frozen, name),
                                os.path.join(tree, "Python", "frozen_modules"))
            files = [os.path.join(tree, f) for f in self.series_c_files()]
            self.assertGreater(len(files), 8)
            proc = subprocess.run(
                [sys.executable, os.path.join("Tools", "c-analyzer",
                                              "check-c-globals.py"),
                 "--format", "summary", *files],
                cwd=tree, capture_output=True, text=True, timeout=1800)
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr[-3000:])
        self.assertIn("total failures: 0", proc.stdout)


class ClinicTest(unittest.TestCase):
    def test_generated_code_up_to_date(self):
        """Argument Clinic run on a copy of overlay/'s _valgrindmodule.c
        changes neither it nor its clinic/_valgrindmodule.c.h: the generated
        code is current and nobody edited it by hand (Clinic stops on a
        checksum mismatch)."""
        clinic = os.path.join(SRC, "Tools", "clinic", "clinic.py")
        with tempfile.TemporaryDirectory() as tmp:
            for name in CLINIC_OUTPUTS:
                os.makedirs(os.path.dirname(os.path.join(tmp, name)),
                            exist_ok=True)
                shutil.copyfile(os.path.join(OVERLAY, name),
                                os.path.join(tmp, name))
            proc = subprocess.run([sys.executable, clinic,
                                   os.path.join(tmp, CLINIC_FILE)],
                                  capture_output=True, text=True)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            for name in CLINIC_OUTPUTS:
                with self.subTest(name):
                    self.assertEqual(
                        read_bytes(os.path.join(tmp, name)),
                        read_bytes(os.path.join(OVERLAY, name)),
                        "Argument Clinic regenerates overlay/%s: run it on "
                        "the file and commit its output" % name)

    def test_prepared_tree_has_overlay_files(self):
        """build/src's copies are the overlay's: the build compiles the
        checked code."""
        for name in CLINIC_OUTPUTS:
            with self.subTest(name):
                self.assertEqual(read_bytes(os.path.join(SRC, name)),
                                 read_bytes(os.path.join(OVERLAY, name)),
                                 "build/src is stale: make build")


class NewsEntriesTest(unittest.TestCase):
    def entries(self):
        top = os.path.join(OVERLAY, NEWS_DIR)
        return [(section, name, os.path.join(top, section, name))
                for section in sorted(os.listdir(top))
                for name in sorted(os.listdir(os.path.join(top, section)))]

    def test_entries_are_filed_as_blurb_files_them(self):
        sections = news_sections()
        self.assertIn("Core_and_Builtins", sections)
        entries = self.entries()
        self.assertGreaterEqual(len(entries), 4)
        for section, name, path in entries:
            with self.subTest(entry=name):
                self.assertIn(section, sections)
                self.assertRegex(name, NEWS_NAME)
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                self.assertTrue(text.strip())
                self.assertTrue(text.endswith("\n") and not text.endswith("\n\n"))
                for line in text.splitlines():
                    self.assertLessEqual(len(line), 79, line)
                    self.assertEqual(line, line.rstrip(), "trailing space")

    def test_entries_are_in_the_prepared_tree(self):
        for section, name, path in self.entries():
            with self.subTest(entry=name):
                self.assertEqual(read_bytes(path), read_bytes(
                    os.path.join(SRC, NEWS_DIR, section, name)))


class MypyTest(unittest.TestCase):
    def run_mypy(self, root):
        """mypy as CPython's CI runs it on libregrtest, in the tree ROOT:
        Counter({(path, message): count}) of its errors (line numbers left
        out: the patches move lines)."""
        with tempfile.TemporaryDirectory() as cache:
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith("PYTHON")}
            proc = subprocess.run(
                [self.mypy, "--config-file", MYPY_INI, "--no-pretty",
                 "--no-error-summary", "--cache-dir", cache],
                cwd=root, env=env, capture_output=True, text=True)
        errors = collections.Counter()
        for line in proc.stdout.splitlines():
            match = MYPY_ERROR.match(line)
            if match:
                errors[match.group("path"), match.group("message")] += 1
        # 0: clean; 1: errors found; anything else: mypy did not run.
        self.assertIn(proc.returncode, (0, 1), proc.stdout + proc.stderr)
        self.assertEqual(proc.returncode == 1, bool(errors),
                         proc.stdout + proc.stderr)
        return errors, proc.stdout

    def test_libregrtest(self):
        self.mypy = shutil.which("mypy")
        if self.mypy is None:
            self.skipTest("mypy is not installed (Debian's package: mypy)")
        tarball = pristine_tarball()
        if tarball is None:
            self.skipTest("no tarball of CPython %s to compare with "
                          "(make build fetches it)" % platform.python_version())
        patched, output = self.run_mypy(SRC)
        with tempfile.TemporaryDirectory() as tmp:
            pristine, _ = self.run_mypy(extract_libregrtest(tarball, tmp))
        added = patched - pristine
        if added:
            self.fail("mypy --config-file %s: errors in the patched tree "
                      "that the pristine release does not have:\n%s\n"
                      "mypy's output:\n%s"
                      % (MYPY_INI, "\n".join("%s: %s" % key for key in added),
                         output))


if __name__ == "__main__":
    unittest.main()


class CplusplusHeadersTest(unittest.TestCase):
    """The internal headers that the series adds, or includes from
    CPython's, compile in a C++ translation unit: Cython's modules are
    often C++ and include internal/pycore_frame.h (frozenlist's are)."""

    HEADERS = ["internal/pycore_frame.h", "internal/pycore_lock.h"] + sorted(
        "internal/" + name
        for name in os.listdir(os.path.join(OVERLAY, "Include", "internal"))
        if name.endswith(".h"))

    def test_internal_headers_compile_as_cplusplus(self):
        gxx = shutil.which("g++")
        if gxx is None:
            self.skipTest("g++ is not installed (Debian's package: g++)")
        include_dirs = {sysconfig.get_path("include"),
                        sysconfig.get_path("platinclude")}
        for header in self.HEADERS:
            with self.subTest(header=header):
                source = ("#include <Python.h>\n#define Py_BUILD_CORE 1\n"
                          '#include "%s"\n' % header)
                proc = subprocess.run(
                    [gxx, "-fsyntax-only", "-x", "c++", "-"]
                    + ["-I" + d for d in sorted(include_dirs)],
                    input=source, capture_output=True, text=True)
                self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
