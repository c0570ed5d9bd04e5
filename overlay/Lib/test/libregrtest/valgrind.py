"""regrtest --valgrind: each test file in a worker of its own, under Memcheck.

The main process starts every worker under Memcheck (memcheck's options, then
PYTHONMEMCHECKOPTS, then --valgrind-opt) with XML output to a file of its
own.  In the worker, memcheck.unittest_checker runs each test case between
markers, with leak searches after groups of test cases, narrowed down by
re-runs when a group leaked (memcheck.checker).  When the worker ends, the
main process reads the file: a test case with a Memcheck error or a definite
or indirect leak fails, and so does its file, with a compact report (kind,
bytes, top frames).  Leaks of first use, and leaks at the worker's exit, fail
the file.  In --junit-xml, the failing test cases are marked.
"""

import fnmatch
import os
import re
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING

from memcheck import parse_shard, in_shard
from memcheck.command import verdict_command
from memcheck.report import Finding, Log, leak_summary

from .result import State, TestResult
from .utils import StrPath, TestList, TestName

if TYPE_CHECKING:
    from memcheck.checker import Checker

# An entry of KNOWN_FILE: (test id pattern, category, reason).
KnownEntry = tuple[str, str, str]

# Counts for the summary, in the main process: (test file, number of
# errors, leaked bytes).
_checked: list[tuple[TestName, int, int]] = []

# The test cases that --valgrind does not fail on, and why (the file says
# how to read it).
KNOWN_FILE = os.path.join(os.path.dirname(__file__), "valgrind_known.txt")
NOT_RUN = ("emulation", "resources")
CATEGORIES = NOT_RUN + ("cpython-bug",)
# read_known()'s, as --valgrind-known chose
known_entries: list[KnownEntry] | None = None


def read_known(path: StrPath = KNOWN_FILE) -> list[KnownEntry]:
    """The entries of PATH: [(test id pattern, category, reason)], the id
    relative to the test package (test_os.TimerfdTests.test_x)."""
    entries: list[KnownEntry] = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 3 or parts[1] not in CATEGORIES:
                raise ValueError(f"{path}:{number}: expected 'test_file[.Class."
                                 f"case]  category  reason' with a category "
                                 f"of {', '.join(CATEGORIES)}: {line!r}")
            test, category, reason = parts
            entries.append((test, category, reason))
    return entries


def _ids(test: str) -> tuple[str, str]:
    """The test ids an entry's TEST stands for: of the test package, or of
    a --testdir."""
    return (f"test.{test}", test)


def ignored_tests(entries: list[KnownEntry]) -> list[str]:
    """The patterns of regrtest's --ignore for the cases not to run."""
    return [pattern for test, category, _ in entries if category in NOT_RUN
            for pattern in _ids(test)]


def _known_finding(test_name: TestName, finding: Finding,
                   entries: list[KnownEntry]) -> bool:
    """Whether FINDING, of the file TEST_NAME, is a known CPython bug: in a
    listed test case; outside any case, of a listed file; or a leak of
    first use in a group of cases that holds a listed case, at a function
    that the entry's reason names (the frames the report shows)."""
    name = test_name.removeprefix("test.")
    for test, category, reason in entries:
        if category != "cpython-bug":
            continue
        if finding.test is None and fnmatch.fnmatchcase(name, test):
            return True
        cases = [finding.test] if finding.test is not None else finding.group
        if not any(fnmatch.fnmatchcase(case, pattern) for case in cases
                   for pattern in _ids(test)):
            continue
        if finding.test is not None or _names_a_frame(reason, finding):
            return True
    return False


def _names_a_frame(reason: str, finding: Finding) -> bool:
    """Whether REASON names a function of FINDING's shown frames (C names
    with an underscore: _copy_string_obj_raw, PyConfig_SetString; a
    compiler's clone, channel_send.constprop.0, by its function's name)."""
    names = set(re.findall(r"\b[A-Za-z]\w*_\w*|\b_\w+", reason))
    return any(frame.fn.split(".")[0] in names
               for frame in finding.caller_frames())


def unavailable() -> str | None:
    """Why --valgrind cannot run here, or None."""
    try:
        import _valgrind
    except ImportError:
        return ("--valgrind needs a Python built with configure "
                "--with-valgrind (no _valgrind module)")
    if shutil.which("valgrind") is None:
        return "--valgrind: valgrind is not installed (not found in PATH)"
    return None


def shard_tests(tests: TestList, shard: str | None) -> TestList:
    """The K-th of N round-robin slices of TESTS (in their given order),
    for --shard K/N."""
    if shard is None:
        return tests
    return [test for i, test in enumerate(tests)
            if in_shard(i, parse_shard(shard))]


def new_xml_file(test_name: TestName) -> StrPath:
    fd, path = tempfile.mkstemp(prefix=f"{test_name}-", suffix=".memcheck.xml")
    os.close(fd)
    return path


def worker_command(python_cmd: list[str], options: Sequence[str] | None,
                   xml_file: StrPath) -> list[str]:
    """PYTHON_CMD (the worker's command line) run under Memcheck, with the
    extra Valgrind OPTIONS."""
    return verdict_command(python_cmd, xml_file, options or ())


def mark_test_cases(xml_file: StrPath) -> None:
    """In the worker: a verdict per test case.  XML_FILE: the worker's
    Memcheck log, which the checker reads as it runs."""
    from memcheck.checker import Checker
    from memcheck.unittest_checker import install
    global _checker
    _checker = Checker(xml_file=xml_file)
    _checker.start_session()
    install(_checker)


def end_of_tests() -> None:
    """In the worker: what Memcheck reports after this comes from the
    process's exit (leaks)."""
    if _checker is not None:
        _checker.end_session()


_checker: "Checker | None" = None


class WorkerReport:
    """The findings in one worker's XML file (which it removes); those of
    known CPython bugs (KNOWN_FILE) apart."""

    def __init__(self, test_name: TestName, xml_file: StrPath,
                 known: list[KnownEntry] | None = None) -> None:
        self.test_name = test_name
        self.log: Log | None
        try:
            self.log = Log(xml_file) if os.path.getsize(xml_file) else None
        finally:
            os.unlink(xml_file)
        findings: list[Finding] = self.log.findings if self.log else []
        for _, group_leaks in (self.log.first_use + self.log.unnarrowed
                               if self.log else ()):
            findings += group_leaks
        entries = (known if known is not None else known_entries
                   if known_entries is not None else read_known())
        self.known: list[Finding] = [f for f in findings
                                     if _known_finding(test_name, f, entries)]
        self.findings: list[Finding] = [f for f in findings
                                        if f not in self.known]

    def by_test_case(self) -> dict[str, list[Finding]]:
        """{test case id: its findings}, in the order they ran."""
        cases: dict[str, list[Finding]] = {}
        for finding in self.findings:
            if finding.test is not None:
                cases.setdefault(finding.test, []).append(finding)
        return cases

    def text(self) -> str:
        lines: list[str] = []
        if self.known:
            lines.append(f"\nMemcheck: {self.test_name}: known CPython "
                         f"bugs: {summary(self.known)}")
        if not self.findings:
            return "\n".join(lines)
        lines.append(f"\nMemcheck: {self.test_name}: {summary(self.findings)}")
        for finding in self.findings:
            when = (f"in {finding.test}" if finding.test
                    else "at exit" if finding.phase == "exit"
                    else "on first use, in a group of test cases"
                    if finding.is_leak and finding.phase is None
                    else "in a group of test cases, not narrowed down to one"
                    if finding.phase == "unnarrowed"
                    else "outside the test cases")
            if finding.phase == "first-use":
                when += " (on first use only)"
            lines.append(f"  {when}:")
            lines.append(finding.format())
        return "\n".join(lines)

    def apply(self, result: TestResult) -> None:
        """Fail RESULT (a TestResult) when there are findings."""
        errors = sum(1 for f in self.findings if not f.is_leak)
        leaked = sum(f.added_bytes for f in self.findings if f.is_leak)
        _checked.append((self.test_name, errors, leaked))
        if not self.findings:
            return
        if not State.is_failed(result.state):
            result.state = State.FAILED
        if result.xml_data is not None:
            self._mark_junit(result)

    def _mark_junit(self, result: TestResult) -> None:
        """Mark each failing test case in the worker's JUnit XML; findings
        of no test case go into a test case "memcheck" of the file."""
        assert result.xml_data is not None
        cases = self.by_test_case()
        marked: set[str] = set()
        xml_data: list[str] = []
        for text in result.xml_data:
            suite = ET.fromstring(text)
            for case in suite.iter("testcase"):
                name = case.get("name", "")
                findings = cases.get(name)
                if findings:
                    _add_failure(case, findings)
                    marked.add(name)
                    suite.set("failures",
                              str(int(suite.get("failures", 0)) + 1))
            xml_data.append(ET.tostring(suite, encoding="unicode"))
        rest = [f for f in self.findings if f.test not in marked]
        if rest:
            suite = ET.Element("testsuite", name=f"memcheck.{self.test_name}",
                               tests="1", failures="1", errors="0")
            case = ET.SubElement(suite, "testcase", classname=self.test_name,
                                 name="memcheck")
            _add_failure(case, rest)
            xml_data.append(ET.tostring(suite, encoding="unicode"))
        result.xml_data = xml_data


def summary(findings: list[Finding]) -> str:
    errors = sum(1 for f in findings if not f.is_leak)
    parts = [f"{errors} error(s)"] if errors else []
    leaks = leak_summary(findings)
    if leaks:
        parts.append(leaks)
    return "; ".join(parts)


def _add_failure(case: ET.Element, findings: list[Finding]) -> None:
    failure = ET.SubElement(case, "failure",
                            message="Memcheck: " + summary(findings))
    failure.text = "\n".join(f.format() for f in findings)


def print_summary() -> None:
    if not _checked:
        return
    with_errors = [name for name, errors, _ in _checked if errors]
    leaking = [name for name, _, leaked in _checked if leaked]
    print()
    print(f"Memcheck: {len(_checked)} test files checked, "
          f"{len(with_errors)} with errors, {len(leaking)} leaking")
    for label, names in (("errors", with_errors), ("leaks", leaking)):
        if names:
            print(f"Memcheck {label}: {' '.join(sorted(names))}")
    sys.stdout.flush()
