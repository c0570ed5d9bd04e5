"""A verdict per test: the _valgrind module under the tools, the
per-test runner "python -m memcheck" on the example extension's suite with
unittest and with pytest, and regrtest --valgrind on purpose-built leaky
test files."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
import xml.etree.ElementTree as ET

import support

EXAMPLE = os.path.join(support.TOP, "examples", "extension-ci")
SEEDED = os.path.join(support.TOP, "tests", "seededbugs", "seededbugs.c")
# Debian's python3-pytest (pure Python) serves the patched interpreter too.
DEBIAN_SITE = "/usr/lib/python3/dist-packages"


def setUpModule():
    global EXT_DIR
    support.build_extension(os.path.join(EXAMPLE, "wordstats.c"), "wordstats")
    EXT_DIR = support.build_extension(SEEDED, "seededbugs")


def run(args, cwd=None, env=None, timeout=900):
    run_env = {k: v for k, v in os.environ.items()
               if k not in support.UNSET_FOR_CPYTHON_TESTS}
    run_env["PYTHONPATH"] = EXT_DIR
    run_env.update(env or {})
    return subprocess.run([support.PYTHON, *args], cwd=cwd, env=run_env,
                          capture_output=True, text=True, timeout=timeout)


def junit_cases(path):
    """{test name: (status, message)} of a JUnit XML file."""
    cases = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        status, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                status = tag
                message = (node.get("message") or "") + "\n" + (node.text or "")
        cases[case.get("name")] = (status, message)
    return cases


class ValgrindModuleTests(unittest.TestCase):
    """_valgrind's checks, from inside processes under Valgrind."""

    SCRIPT = textwrap.dedent("""
        import _valgrind, seededbugs
        def call(name):
            getattr(seededbugs, name)()
        _valgrind.leak_check()
        for name in %r:
            _valgrind.marker("calling " + name)
            errors = _valgrind.count_errors()
            call(name)
            errors = _valgrind.count_errors() - errors
            counts = _valgrind.leak_check()
            print(name, errors, counts.leaked, counts.leaked_blocks)
        print("type", type(counts).__name__, len(counts))
    """)
    CALLS = ["clean_workload", "bug_leak_float", "bug_leak_list",
             "bug_leak_container", "bug_overflow_read", "bug_leak_dict",
             "clean_workload"]

    def results(self, tool, **kwargs):
        proc, errors = support.valgrind(
            ["-c", self.SCRIPT % (self.CALLS,)], tool=tool,
            env={"PYTHONPATH": EXT_DIR}, **kwargs)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = [line.split() for line in proc.stdout.splitlines()]
        return proc, {row[0]: list(map(int, row[1:])) for row in rows
                      if row[0] != "type"}, rows[-1]

    def test_leak_check_and_count_errors_under_memcheck(self):
        # Each leak is found by the search right after the call that made
        # it, a container included (the GC's links are not scanned); an
        # invalid read counts one error; clean calls count 0.  A list is
        # announced at its PyObject address: its 40 bytes, past the GC
        # header.
        proc, counts, last = self.results("memcheck")
        self.assertEqual(last, ["type", "LeakCounts", "8"])
        self.assertEqual(counts["clean_workload"], [0, 0, 0])
        self.assertEqual(counts["bug_leak_float"], [0, 24, 1])
        self.assertEqual(counts["bug_leak_list"][:2], [0, 40])
        self.assertGreater(counts["bug_leak_container"][1], 40)
        self.assertEqual(counts["bug_leak_dict"][0], 0)
        self.assertGreater(counts["bug_leak_dict"][1], 0)
        self.assertEqual(counts["bug_overflow_read"], [1, 0, 0])

    def test_markers_in_the_xml_log(self):
        code = ("import _valgrind, seededbugs; "
                "_valgrind.marker('python-memcheck {\"event\": \"begin\", "
                "\"test\": \"t1\", \"phase\": \"run\"}'); "
                "seededbugs.bug_overflow_read()")
        proc, findings = support.valgrind(["-c", code],
                                          env={"PYTHONPATH": EXT_DIR})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.log.order, ["t1"])
        [finding] = [f for f in findings if not f.is_leak]
        self.assertEqual(finding.test, "t1")
        self.assertEqual(finding.kind, "InvalidRead")

    def test_test_tag_names_the_test_in_the_leak_record(self):
        # In malloc mode a block allocated under tag 0xGGTT has
        # group_tag_GG and test_tag_TT in its stack; under no tag (TT 00),
        # none.  Out-of-range tags are refused.
        script = textwrap.dedent("""
            import _valgrind, seededbugs
            _valgrind.set_test_tag(0x1c2a)
            seededbugs.bug_leak_list()
            _valgrind.set_test_tag(0x0500)
            seededbugs.bug_leak_dict()
            _valgrind.set_test_tag(0)
            for bad in (-1, 65536):
                try:
                    _valgrind.set_test_tag(bad)
                except ValueError:
                    print("refused", bad)
        """)
        proc, errors = support.valgrind(["-c", script],
                                        options=support.MEMCHECK_GATE,
                                        env={"PYTHONPATH": EXT_DIR})
        self.assertIn("refused -1\nrefused 65536", proc.stdout)
        tags = {e.tag for e in errors
                if e.kind == "Leak_DefinitelyLost"
                and any("bug_leak_list" in f for f in e.functions)}
        self.assertEqual(tags, {0x1c2a})
        untagged = {e.tag for e in errors
                    if e.kind == "Leak_DefinitelyLost"
                    and any("bug_leak_dict" in f for f in e.functions)}
        self.assertEqual(untagged, {None})

    def test_no_memcheck_request_under_other_tools(self):
        # No search, no counts, and no "unknown client request" warning
        # (DHAT prints one for every Memcheck request).
        for tool in ("callgrind", "dhat"):
            with self.subTest(tool=tool):
                proc, counts, _ = self.results(tool)
                self.assertEqual(set(map(tuple, counts.values())), {(0, 0, 0)})
                self.assertNotIn("unknown", proc.stderr.lower())


class GroupLeakTests(unittest.TestCase):
    """memcheck.report on a hand-written log: the leaks that a group's
    search found and no test owns."""

    def group_leaks(self, *kinds):
        def marker(**fields):
            return ("<clientmsg><text>python-memcheck %s</text></clientmsg>"
                    % json.dumps(fields))
        records = "".join(
            f"<error><kind>{kind}</kind><xwhat><text>8 bytes</text>"
            f"<leakedbytes>8</leakedbytes></xwhat><stack><frame><fn>malloc"
            f"</fn></frame><frame><fn>make_{i}</fn></frame></stack></error>"
            for i, kind in enumerate(kinds))
        text = ("<valgrindoutput>"
                + marker(event="begin", test="t.a", tag=1)
                + marker(event="end", test="t.a", outcome="passed")
                + marker(event="begin", test="t.b", tag=2)
                + marker(event="end", test="t.b", outcome="passed")
                + marker(event="search", tests=["t.a", "t.b"])
                + records + "</valgrindoutput>")
        with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
            f.write(text)
            f.flush()
            from memcheck.report import Log
            return Log(f.name).first_use

    def test_definite_leak_of_first_use(self):
        [(tests, records)] = self.group_leaks("Leak_DefinitelyLost",
                                              "Leak_IndirectlyLost")
        self.assertEqual(tests, ["t.a", "t.b"])
        self.assertEqual([r.kind for r in records],
                         ["Leak_DefinitelyLost", "Leak_IndirectlyLost"])
        self.assertEqual(records[0].group, ("t.a", "t.b"))

    def test_indirect_records_alone_are_no_finding(self):
        # The content of a definitely lost block that a test's record
        # counts (the block has a test's number, its content not always).
        self.assertEqual(self.group_leaks("Leak_IndirectlyLost"), [])


class ExtensionSuiteTests(unittest.TestCase):
    """python -m memcheck on examples/extension-ci: test_split leaks,
    test_longest reads past a buffer, test_count is clean."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        shutil.copy(os.path.join(EXAMPLE, "test_wordstats.py"), self.tmp)
        self.junit = os.path.join(self.tmp, "junit.xml")

    def memcheck(self, *args, env=None):
        return run(["-m", "memcheck", "--junit-xml", self.junit, *args],
                   cwd=self.tmp, env=env)

    def assert_verdicts(self, proc):
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        cases = junit_cases(self.junit)
        self.assertEqual(sorted(cases), ["test_count", "test_longest",
                                         "test_split"], proc.stdout)
        self.assertEqual(cases["test_count"], ("passed", ""))
        status, message = cases["test_split"]
        self.assertEqual(status, "failure")
        self.assertIn("bytes definitely lost", message)
        self.assertIn("split (wordstats.c:", message)
        status, message = cases["test_longest"]
        self.assertEqual(status, "failure")
        self.assertIn("InvalidRead", message)
        self.assertIn("at longest (wordstats.c:", message)
        self.assertNotIn("outside any test", proc.stdout)
        self.assertIn("memcheck: 1 passed, 2 failed", proc.stdout)

    def test_unittest(self):
        self.assert_verdicts(self.memcheck("unittest", "-v", "test_wordstats"))

    def test_unittest_pool_mode(self):
        # The same verdicts with pymalloc kept and annotated.
        self.assert_verdicts(self.memcheck("unittest", "test_wordstats",
                                           env={"PYTHONVALGRIND": "pool"}))

    def test_pytest(self):
        if not os.path.exists(os.path.join(DEBIAN_SITE, "pytest")):
            self.skipTest("Debian's python3-pytest is not installed")
        proc = self.memcheck("pytest", "-q", "-p", "no:cacheprovider",
                             "test_wordstats.py",
                             env={"PYTHONPATH": EXT_DIR + ":" + DEBIAN_SITE})
        self.assert_verdicts(proc)

    def test_clean_test_passes(self):
        proc = self.memcheck("unittest", "test_wordstats.WordStatsTest.test_count")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(junit_cases(self.junit), {"test_count": ("passed", "")})

    def test_known_issues_do_not_fail(self):
        # By test id, and by a function of the report's stack.
        proc = self.memcheck("--known", "*.test_split", "--known", "longest",
                             "unittest", "test_wordstats")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        cases = junit_cases(self.junit)
        self.assertEqual(cases["test_count"], ("passed", ""))
        for name in ("test_split", "test_longest"):
            self.assertEqual(cases[name][0], "skipped")
            self.assertIn("known issue", cases[name][1])

    def test_known_file(self):
        # memcheck.known's format, as regrtest --valgrind reads it: an
        # entry with frames, and a lone pattern (as --known PATTERN).
        known = os.path.join(self.tmp, "known.txt")
        with open(known, "w") as f:
            f.write("# comment\n"
                    "*.test_split  bug  frames=spli?  split() leaks its list\n"
                    "*.test_count  bug  frames=longest  not this test's\n"
                    "longest\n")
        proc = self.memcheck("--known-file", known, "unittest",
                             "test_wordstats")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        cases = junit_cases(self.junit)
        self.assertEqual(cases["test_count"], ("passed", ""))
        for name in ("test_split", "test_longest"):
            self.assertEqual(cases[name][0], "skipped")
            self.assertIn("known issue", cases[name][1])
        # The entry's frames must be in the test's findings.
        with open(known, "w") as f:
            f.write("*.test_split  bug  frames=longest  not split's leak\n")
        proc = self.memcheck("--known-file", known, "unittest",
                             "test_wordstats.WordStatsTest.test_split")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)

    def test_known_file_bad_line(self):
        # A line that is not an entry stops the run before any test, with
        # where it is and what was expected, as regrtest --valgrind does.
        known = os.path.join(self.tmp, "known.txt")
        for line, message in [
                ("test_split  cpython-bug", "expected 'TEST  CATEGORY"),
                ("test_split  leak  no such category", "expected 'TEST  CATEGORY"),
                ("test_split  bug  frames=  no functions", "frames= needs"),
                ("test_split  bug  frames=split", "no REASON after frames="),
                ("test_split  emulation  not run",
                 "category 'emulation' leaves tests out")]:
            with self.subTest(line=line):
                with open(known, "w") as f:
                    f.write("# comment\nlongest\n" + line + "\n")
                proc = self.memcheck("--known-file", known, "unittest",
                                     "test_wordstats")
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn("--known-file: %s:3: %s" % (known, message),
                              proc.stderr)
                self.assertFalse(os.path.exists(self.junit))

    def test_known_issue_does_not_hide_a_failing_test(self):
        with open(os.path.join(self.tmp, "test_wrong.py"), "w") as f:
            f.write("import unittest, wordstats\n"
                    "class T(unittest.TestCase):\n"
                    "    def test_wrong(self):\n"
                    "        self.assertEqual(wordstats.split('a b'), ['b'])\n")
        proc = self.memcheck("--known", "split", "unittest", "test_wrong")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        status, message = junit_cases(self.junit)["test_wrong"]
        self.assertEqual(status, "failure")
        self.assertIn("test failed", message)

    def test_crash_shows_the_signal_and_where(self):
        # The process dies in a test: its verdict holds the signal and the
        # stack it was raised at, as regrtest --valgrind's report does.
        with open(os.path.join(self.tmp, "test_crash.py"), "w") as f:
            f.write("import ctypes, unittest\n"
                    "class T(unittest.TestCase):\n"
                    "    def test_crash(self):\n"
                    "        ctypes.string_at(8)\n")
        proc = self.memcheck("unittest", "test_crash")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        status, message = junit_cases(self.junit)["test_crash"]
        self.assertEqual(status, "error")
        self.assertIn("FatalSignal: SIGSEGV: Access not within mapped region "
                      "at address 0x8", message)
        self.assertIn("by string_at (_ctypes.c:", message)

    def test_leak_found_by_a_later_search(self):
        # A copy of the pointer (here in a bytes object, elsewhere a stale
        # word in a live block or on the C stack) keeps test_leak's block
        # reachable past its group's search (the class has a fixture: its
        # group is searched before the next class).  test_forget drops the
        # copy: the next search finds the leak, and its number names
        # test_leak, not a test of the group that search ends.
        with open(os.path.join(self.tmp, "test_late.py"), "w") as f:
            f.write(textwrap.dedent("""
                import ctypes, struct, unittest
                COPIES = []
                class First(unittest.TestCase):
                    @classmethod
                    def setUpClass(cls):
                        pass
                    def test_leak(self):
                        obj = bytearray(b"x" * 200)
                        ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
                        COPIES.append(struct.pack("P", id(obj)))
                class Second(unittest.TestCase):
                    def test_forget(self):
                        COPIES.clear()
            """))
        proc = self.memcheck("unittest", "test_late")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        cases = junit_cases(self.junit)
        self.assertEqual(cases["test_forget"], ("passed", ""), proc.stdout)
        status, message = cases["test_leak"]
        self.assertEqual(status, "failure")
        self.assertIn("bytes definitely lost", message)
        self.assertNotIn("outside any test", proc.stdout)

    def test_narrowing_stops_at_its_budget(self):
        # Sixteen tests of one group, each leaking memory from malloc()
        # itself (no test number in its stack): narrowing them all down
        # one by one would take about 32 searches.  It stops at its budget
        # (10 searches for 16 tests): the tests it found fail, and those it
        # left fail together.
        body = "".join(f"    def test_{i:02}(self):\n"
                       f"        libc.malloc({100 + i})\n" for i in range(16))
        with open(os.path.join(self.tmp, "test_many.py"), "w") as f:
            f.write("import ctypes, unittest\n"
                    "libc = ctypes.CDLL(None)\n"
                    "libc.malloc.restype = ctypes.c_void_p\n"
                    "class T(unittest.TestCase):\n"
                    "    @classmethod\n"
                    "    def setUpClass(cls):\n"
                    "        pass\n" + body)
        proc = self.memcheck("unittest", "test_many")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        searches = int(re.search(r"memcheck: (\d+) leak searches",
                                 proc.stdout).group(1))
        self.assertLessEqual(searches, 11, proc.stdout)
        blamed = re.findall(r"FAILED: test_many\.T\.test_(\d\d):", proc.stdout)
        self.assertTrue(blamed, proc.stdout)
        left = re.search(r"FAILED: \(not narrowed down, in test_many\.T\."
                         r"test_(\d\d) \.\.\. test_many\.T\.test_15\): "
                         r"Memcheck: \d+ bytes definitely lost in the group's "
                         r"search, at sites that re-runs of these (\d+) tests "
                         r"leaked again", proc.stdout)
        self.assertIsNotNone(left, proc.stdout)
        # Every test is blamed, alone or with those the narrowing left.
        self.assertEqual(len(blamed) + int(left.group(2)), 16, proc.stdout)
        self.assertEqual(int(left.group(1)), len(blamed), proc.stdout)

    def test_shard(self):
        # Round-robin in collection order: the 2nd of 3 slices holds the
        # 2nd test (unittest sorts test methods by name).
        proc = self.memcheck("--shard", "2/3", "unittest", "test_wordstats")
        self.assertEqual(sorted(junit_cases(self.junit)), ["test_longest"],
                         proc.stdout + proc.stderr)
        self.assertEqual(proc.returncode, 1)

    def test_jobs_merge_verdicts(self):
        # Three classes in two processes: one report, one JUnit file.
        shutil.copy(os.path.join(support.TOP, "tests", "scopes",
                                 "test_unittest_scopes.py"), self.tmp)
        proc = self.memcheck("-j2", "unittest", "test_wordstats",
                             "test_unittest_scopes",
                             env={"SCOPE_LOG": os.path.join(self.tmp, "log")})
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("== process 2 of 2 ==", proc.stdout)
        self.assertIn("memcheck: 4 passed, 3 failed", proc.stdout)
        self.assertIn("memcheck: 7/7 tests, 3 with findings", proc.stderr)
        cases = list(ET.parse(self.junit).getroot().iter("testcase"))
        self.assertEqual(len(cases), 7)
        failing = {case.get("classname") + "." + case.get("name")
                   for case in cases if case.find("failure") is not None}
        self.assertEqual(failing, {
            "test_wordstats.WordStatsTest.test_split",
            "test_wordstats.WordStatsTest.test_longest",
            "test_unittest_scopes.First.test_leak"})

    def test_bad_jobs(self):
        proc = self.memcheck("-j", "-1", "unittest", "test_wordstats")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("-j needs a number >= 0", proc.stderr)

    def test_bad_shard(self):
        proc = self.memcheck("--shard", "4/3", "unittest", "test_wordstats")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("K must be between 1 and N", proc.stderr)


# tests/run.py runs this suite under the newest Valgrind too: there the
# example's verdicts (the classes above); these two, slower, run under the
# system's Valgrind only.
SYSTEM_VALGRIND_ONLY = unittest.skipIf(
    support.under_newest_valgrind(),
    "under the newest Valgrind, make check runs the example's verdicts only")


@SYSTEM_VALGRIND_ONLY
class CleanSuiteTests(unittest.TestCase):
    """No false verdict: CPython's own tests of two C accelerators, each
    test followed by a leak search."""

    def test_cpython_suites_pass(self):
        with tempfile.TemporaryDirectory() as tmp:
            junit = os.path.join(tmp, "junit.xml")
            proc = run(["-m", "memcheck", "--junit-xml", junit, "unittest",
                        "test.test_heapq", "test.test_bisect"], cwd=tmp)
            cases = junit_cases(junit)
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr[-3000:])
        self.assertGreater(len(cases), 40)
        self.assertEqual({status for status, _ in cases.values()}, {"passed"})


LEAKY_TESTS = '''
import unittest
import wordstats

class T(unittest.TestCase):
    def test_clean(self):
        self.assertEqual(wordstats.count("a b"), 2)

    def test_bad_read(self):
        self.assertEqual(wordstats.longest("abc de"), 3)

    def test_leak(self):
        self.assertEqual(wordstats.split("x y"), ["x", "y"])
'''

CLEAN_TESTS = '''
import unittest
import wordstats

class T(unittest.TestCase):
    def test_count(self):
        self.assertEqual(wordstats.count("one two three"), 3)
'''


@SYSTEM_VALGRIND_ONLY
class RegrtestTests(unittest.TestCase):
    """python -m test --valgrind on test files made for it."""

    @classmethod
    def setUpClass(cls):
        cls.testdir = tempfile.mkdtemp()
        # Next to the test files: "make valgrindtest" runs python -E, which
        # ignores PYTHONPATH, and regrtest puts --testdir on the path.
        for name in os.listdir(EXT_DIR):
            if name.startswith("wordstats."):
                shutil.copy(os.path.join(EXT_DIR, name), cls.testdir)
        for name, text in (("test_vg_leaky", LEAKY_TESTS),
                           ("test_vg_clean", CLEAN_TESTS)):
            with open(os.path.join(cls.testdir, name + ".py"), "w") as f:
                f.write(text)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.testdir)

    def regrtest(self, *args, env=None):
        self.junit = os.path.join(self.testdir, "junit.xml")
        return run(["-m", "test", "--testdir", self.testdir, "--valgrind",
                    "--junit-xml", self.junit, *args], env=env)

    def test_failing_verdict(self):
        results = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, results)
        proc = self.regrtest("-j2", "test_vg_leaky", "test_vg_clean",
                             env={"PYTHONMEMCHECKRESULTS": results})
        out = proc.stdout
        self.check_results(results)
        self.assertEqual(proc.returncode, 2, out + proc.stderr)
        self.assertIn("Memcheck: test_vg_leaky: 1 error(s); 40 bytes "
                      "definitely lost", out)
        self.assertIn("in test_vg_leaky.T.test_bad_read:\n"
                      "    InvalidRead: Invalid read of size 1\n"
                      "      at longest (wordstats.c:", out)
        # The leak is blamed on the test case that made it.
        self.assertRegex(out, r"in test_vg_leaky\.T\.test_leak:\n"
                              r"    Leak_DefinitelyLost: [^\n]*\n"
                              r"(      (at|by) [^\n]*\n)*      by split "
                              r"\(wordstats\.c:")
        self.assertIn("Memcheck: 2 test files checked, 1 with errors, "
                      "1 leaking", out)
        self.assertRegex(out, r"1 test failed:\s+test_vg_leaky")
        # In the JUnit XML, the failing test cases are marked.
        cases = junit_cases(self.junit)
        self.assertEqual(cases["test_vg_leaky.T.test_clean"][0], "passed")
        status, message = cases["test_vg_leaky.T.test_leak"]
        self.assertEqual(status, "failure")
        self.assertIn("40 bytes definitely lost", message)
        status, message = cases["test_vg_leaky.T.test_bad_read"]
        self.assertEqual(status, "failure")
        self.assertIn("InvalidRead", message)
        self.assertEqual(cases["test_vg_clean.T.test_count"][0], "passed")

    def check_results(self, results):
        # PYTHONMEMCHECKRESULTS: a result a file, for tools.
        self.assertEqual(sorted(os.listdir(results)),
                         ["test_vg_clean.json", "test_vg_leaky.json"])
        with open(os.path.join(results, "test_vg_leaky.json")) as f:
            leaky = json.load(f)
        self.assertEqual(leaky["state"], "FAILED")
        self.assertEqual(leaky["state_text"], "failed")
        self.assertEqual(leaky["errors"], 1, leaky)
        self.assertGreaterEqual(leaky["leaked_bytes"], 40, leaky)
        self.assertEqual(sorted(leaky["failed_cases"]),
                         ["test_vg_leaky.T.test_bad_read",
                          "test_vg_leaky.T.test_leak"])
        self.assertTrue(leaky["memcheck"][0].startswith(
            "Memcheck: test_vg_leaky: 1 error(s); 40 bytes definitely lost"),
            leaky["memcheck"])
        self.assertGreater(leaky["wall_seconds"], 1)
        self.assertTrue(leaky["session_finished"])
        with open(os.path.join(results, "test_vg_clean.json")) as f:
            clean = json.load(f)
        self.assertEqual((clean["state"], clean["state_text"], clean["memcheck"],
                          clean["failed_cases"]), ("PASSED", "passed", [], {}))

    def test_clean_files_pass_without_j(self):
        # Without -j, each file still gets a worker under Memcheck.
        proc = self.regrtest("test_vg_clean")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("Memcheck: 1 test files checked, 0 with errors, "
                      "0 leaking", proc.stdout)

    def test_shard(self):
        proc = self.regrtest("--shard", "2/2", "test_vg_leaky", "test_vg_clean")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("test_vg_clean", proc.stdout)
        self.assertNotIn("test_vg_leaky", proc.stdout)

    def test_make_valgrindtest(self):
        # CPython's "make valgrindtest", in the build directory.
        env = {k: v for k, v in os.environ.items()
               if k not in support.UNSET_FOR_CPYTHON_TESTS}
        proc = subprocess.run(
            ["make", "-C", os.path.join(support.BUILD, "obj"), "valgrindtest",
             "TESTOPTS=--testdir %s test_vg_leaky" % self.testdir],
            env=env, capture_output=True, text=True, timeout=900)
        self.assertNotEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("-m test --valgrind --testdir", proc.stdout)
        self.assertIn("Memcheck: test_vg_leaky: 1 error(s)", proc.stdout)

    def test_known_file(self):
        # --valgrind-known (default: Lib/test/libregrtest/valgrind_known.txt):
        # a case of Valgrind's emulation is not run; the findings of a
        # known CPython bug do not fail the file.
        known = os.path.join(self.testdir, "known.txt")
        with open(known, "w") as f:
            f.write("# comment\n"
                    "test_vg_leaky.T.test_bad_read  emulation  on purpose\n"
                    "test_vg_leaky.T.test_leak  cpython-bug  frames=split  "
                    "split() leaks\n")
        proc = self.regrtest("--valgrind-known", known, "test_vg_leaky")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("Memcheck: test_vg_leaky: known CPython bugs: "
                      "40 bytes definitely lost", proc.stdout)
        cases = junit_cases(self.junit)
        self.assertEqual(cases["test_vg_leaky.T.test_clean"][0], "passed")
        self.assertEqual(cases["test_vg_leaky.T.test_leak"][0], "passed")
        self.assertNotIn("test_vg_leaky.T.test_bad_read", cases)
        # Without it, both fail the file again.
        proc = self.regrtest("--valgrind-known", "", "test_vg_leaky")
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        # A line it cannot read stops the run before any test.
        with open(known, "a") as f:
            f.write("test_vg_leaky.T.test_clean  slow  no such category\n")
        proc = self.regrtest("--valgrind-known", known, "test_vg_leaky")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--valgrind-known: %s:4: expected 'TEST  CATEGORY"
                      % known, proc.stderr)
        with open(known, "w") as f:
            f.write("test_vg_leaky.T.test_leak  emulation  frames=split  "
                    "not run\n")
        proc = self.regrtest("--valgrind-known", known, "test_vg_leaky")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--valgrind-known: %s:1: frames= is for the "
                      "categories bug, cpython-bug" % known, proc.stderr)

    def test_shipped_known_file(self):
        # Every entry of the file that --valgrind reads by default has a
        # category and a reason; a CPython bug names its reproducer or
        # function.
        from test.libregrtest import valgrind
        entries = valgrind.read_known()
        self.assertTrue(entries)
        for test, category, frames, reason, _ in entries:
            with self.subTest(test=test):
                self.assertRegex(test, r"^test_\w+")
                self.assertGreater(len(reason), 20)
                if category == "cpython-bug":
                    self.assertRegex(reason, r"repro/\w+\.py|\w+\(\)")
                for frame in frames:
                    self.assertRegex(frame, r"^\w+$")

    def test_known_leak_of_a_group(self):
        # A leak of first use that no single case owns is known when a
        # listed case is of its group and the entry's frames= names a
        # function of its stack (a compiler's clone by its function's
        # name); the prose of the reason is not read.
        from memcheck.known import parse_line
        from memcheck.report import Finding
        from test.libregrtest import valgrind
        leak = Finding(ET.fromstring(
            "<error><kind>Leak_DefinitelyLost</kind><xwhat><text>40 bytes"
            "</text><leakedbytes>40</leakedbytes></xwhat><stack>"
            "<frame><fn>malloc</fn></frame>"
            "<frame><fn>_sharednsitem_set_value.constprop.0</fn></frame>"
            "<frame><fn>_PyXI_Enter</fn></frame></stack></error>"))
        leak.group = ("test.test_x.A.test_one", "test.test_x.B.test_two")
        def known(line):
            entries = parse_line(line, "known.txt:1")
            return bool(valgrind.known_findings("test.test_x", [leak], entries))
        self.assertTrue(known("test_x.B.*  cpython-bug  "
                              "frames=_sharednsitem_set_value  leaks"))
        self.assertTrue(known("test_x.B.*  cpython-bug  "
                              "frames=_other,_PyXI_*  leaks"))
        self.assertFalse(known("test_x.B.*  cpython-bug  "
                               "frames=_other_function  leaks"))
        self.assertFalse(known("test_x.C.*  cpython-bug  "
                               "frames=_sharednsitem_set_value  leaks"))
        self.assertFalse(known("test_x.B.*  emulation  differs"))
        self.assertFalse(known("test_x.B.*  cpython-bug  "
                               "frames=_sharednsitem_set  leaks"))
        # A case's entry without frames covers its group's leaks.
        self.assertTrue(known("test_x.B.*  cpython-bug  leaks (repro/x.py)"))
        # A file's entry covers what no case owns.
        self.assertTrue(known("test_x  cpython-bug  leaks at exit (repro/x.py)"))
        self.assertFalse(known("test_y  cpython-bug  leaks at exit (repro/x.py)"))

    def test_known_findings_judged_together(self):
        # The findings of one case are known together: what a leak holds
        # indirectly was often allocated elsewhere (frames= need not be in
        # every stack).
        from memcheck.known import parse_line
        from memcheck.report import Finding
        from test.libregrtest import valgrind
        def finding(kind, fn):
            f = Finding(ET.fromstring(
                "<error><kind>%s</kind><xwhat><text>8 bytes</text>"
                "<leakedbytes>8</leakedbytes></xwhat><stack><frame><fn>malloc"
                "</fn></frame><frame><fn>%s</fn></frame></stack></error>"
                % (kind, fn)))
            f.test = "test.test_x.A.test_one"
            return f
        direct = finding("Leak_DefinitelyLost", "channel_send")
        indirect = finding("Leak_IndirectlyLost", "PyUnicode_New")
        entries = parse_line("test_x.A.test_one  cpython-bug  "
                             "frames=channel_send  leaks", "known.txt:1")
        self.assertEqual(valgrind.known_findings(
            "test.test_x", [direct, indirect], entries), [direct, indirect])
        self.assertEqual(valgrind.known_findings(
            "test.test_x", [indirect], entries), [])

    def test_bad_options(self):
        proc = self.regrtest("--shard", "1-2", "test_vg_clean")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("shard must be K/N", proc.stderr)
        proc = self.regrtest("--single-process", "test_vg_clean")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--valgrind and --single-process", proc.stderr)
        proc = run(["-m", "test", "--valgrind", "test_vg_clean"],
                   env={"PATH": "/nonexistent"})
        self.assertEqual(proc.returncode, 2)
        self.assertIn("valgrind is not installed", proc.stderr)


if __name__ == "__main__":
    unittest.main()
