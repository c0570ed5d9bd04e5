"""Every Valgrind that users have: the system's (3.19 here) and the newest,
built from Debian's source archive by `make valgrind-newest` into
build/valgrind-VERSION/ (valgrind.conf).

- The decision: Valgrind 3.27 and later name the tool and say whether it
  replaces malloc() (VALGRIND_GET_TOOLNAME, VALGRIND_REPLACES_MALLOC); the
  first allocation asks them first and falls back to /proc/self/maps, and
  _valgrind.tool_source() says which answered.
- memcheck.report reads the XML of each version (3.27 writes protocol 6,
  with leak summaries; 3.26 left an element of them unclosed).

tests/run.py also runs the seeded-bug, noise and verdict suites under the
newest Valgrind (NEWEST_VALGRIND_SUITES)."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

import support
from memcheck.report import Log

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "valgrind_versions")
SYSTEM_VALGRIND = shutil.which("valgrind")
NEWEST_VALGRIND = support.newest_valgrind()

# What each tool is, by Valgrind 3.27.1's answers (measured): whether it
# replaces malloc(), and so the mode that "auto" chooses.
MODES = {"memcheck": "malloc", "helgrind": "malloc", "drd": "malloc",
         "massif": "malloc", "dhat": "malloc", "callgrind": "pymalloc",
         "none": "pymalloc"}

PROBE = ("import _valgrind; "
         "print(_valgrind.tool(), _valgrind.mode(), _valgrind.tool_source())")


def probe(valgrind, tool, env=None):
    """(tool, mode, source) that build/python reports under VALGRIND's
    TOOL, and Valgrind's own output."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [valgrind, "-q", "--tool=" + tool]
        if tool in support.OUT_FILE_TOOLS:
            cmd.append("--%s-out-file=%s" % (tool, os.path.join(tmp, "out")))
        proc = subprocess.run(cmd + [support.PYTHON, "-c", PROBE],
                              capture_output=True, text=True, timeout=600,
                              env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise AssertionError(proc.stderr[-2000:])
    return tuple(proc.stdout.split()), proc.stderr


def findings_summary(log):
    return sorted((f.kind, f.bytes, tuple(f.functions[:3]))
                  for f in log.findings)


class TestXmlOfEachVersion(unittest.TestCase):
    """tests/valgrind_versions/leak.c under each Valgrind: one record of
    each leak kind, the same findings read from each version's XML."""

    def read(self, name):
        log = Log(os.path.join(DATA, name))
        self.assertTrue(log.complete, name)
        return log

    def test_319_and_newest_agree(self):
        old = self.read("leak-3.19.xml")
        new = self.read("leak-3.27.1.xml")
        kinds = {f.kind for f in old.findings}
        self.assertLessEqual({"Leak_DefinitelyLost", "Leak_IndirectlyLost",
                              "Leak_PossiblyLost"}, kinds)
        self.assertEqual(findings_summary(old), findings_summary(new))

    def test_unclosed_leak_summary_of_326(self):
        # 3.26 wrote protocol 6 with <still_reachable> left open in each
        # <leak_summary>: the file is not well-formed XML.
        with open(os.path.join(DATA, "leak-3.27.1.xml")) as f:
            text = f.read()
        broken = re.sub(r"\n\s*</still_reachable>", "", text)
        self.assertNotEqual(broken, text)
        with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
            f.write(broken)
            f.flush()
            log = Log(f.name)
            self.assertTrue(log.complete)
            self.assertEqual(findings_summary(log),
                             findings_summary(self.read("leak-3.27.1.xml")))

    def test_truncated_file_keeps_its_whole_records(self):
        with open(os.path.join(DATA, "leak-3.27.1.xml")) as f:
            text = f.read()
        cut = text[:text.rfind("<error>") + 20]
        with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
            f.write(cut)
            f.flush()
            log = Log(f.name)
        self.assertFalse(log.complete)
        self.assertEqual(len(log.findings),
                         len(self.read("leak-3.27.1.xml").findings) - 1)


class TestDecision(unittest.TestCase):
    """The tool, the mode and where the answer came from, under each tool
    of each Valgrind."""

    def check_tools(self, valgrind, expected_source):
        for tool, mode in MODES.items():
            with self.subTest(valgrind=valgrind, tool=tool):
                answer, stderr = probe(valgrind, tool)
                # DHAT is named by the maps alone: before 3.24 it warns
                # about each request it does not know.
                source = "maps" if tool == "dhat" else expected_source
                self.assertEqual(answer, (tool, mode, source), stderr)
                self.assertNotIn("unknown DHAT client request", stderr)

    def test_system_valgrind_answers_from_the_maps(self):
        version = subprocess.run([SYSTEM_VALGRIND, "--version"],
                                 capture_output=True, text=True).stdout
        if not version.startswith("valgrind-3.") or \
                int(version.split(".")[1]) >= 27:
            self.skipTest("the system's Valgrind is %s" % version.strip())
        self.check_tools(SYSTEM_VALGRIND, "maps")

    @unittest.skipUnless(NEWEST_VALGRIND, "make valgrind-newest: not built")
    def test_newest_valgrind_answers_the_requests(self):
        self.check_tools(NEWEST_VALGRIND, "request")

    @unittest.skipUnless(NEWEST_VALGRIND, "make valgrind-newest: not built")
    def test_newest_memcheck_pool_mode(self):
        answer, stderr = probe(NEWEST_VALGRIND, "memcheck",
                               {"PYTHONVALGRIND": "pool"})
        self.assertEqual(answer, ("memcheck", "pool", "request"), stderr)

    def test_native(self):
        out = subprocess.run([support.PYTHON, "-c", PROBE], check=True,
                             capture_output=True, text=True).stdout
        self.assertEqual(out.split(), ["None", "pymalloc", "None"])


if __name__ == "__main__":
    unittest.main()
