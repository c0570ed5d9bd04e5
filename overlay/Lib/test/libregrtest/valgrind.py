"""regrtest --valgrind: each test file in a worker of its own, under Memcheck,
or under a thread checker, Helgrind or DRD (below).

The main process starts every worker under Memcheck (memcheck's options, then
PYTHONMEMCHECKOPTS, then --valgrind-opt) with XML output to a file of its
own.  In the worker, memcheck.unittest_checker runs each test case between
markers, with leak searches after groups of test cases, narrowed down by
re-runs when a group leaked (memcheck.checker).  When the worker ends, the
main process reads the file: a test case with a Memcheck error or a definite
or indirect leak fails, and so does its file, with a compact report (kind,
bytes, top frames).  Leaks of first use, and leaks at the worker's exit, fail
the file.  In --junit-xml, the failing test cases are marked.

Under Helgrind or DRD (PYTHONMEMCHECKTOOL=helgrind or drd, or
--valgrind-tool; memcheck.command.verdict_tool()), each report, a data race
or a misuse of a lock, fails the test case that was running when the tool
made it, and no leaks are searched for; the report shows the conflicting
access.  The worker's own process asks _valgrind which tool it runs under.

The findings of known CPython bugs, and the cases not to run, are listed in
KNOWN_FILE (memcheck.known's format).  With PYTHONMEMCHECKRESULTS=DIR, the
main process writes the result of each test file as DIR/TEST_NAME.json, for
tools (the series' tools/valgrindtest-all) that would otherwise read
regrtest's output.
"""

import json
import os
import shutil
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from memcheck import known
from memcheck.command import TOOL_ENV, tool_title, verdict_command
from memcheck.command import THREAD_TOOLS, verdict_tool
from memcheck.known import Entry as KnownEntry
from memcheck.report import Finding, Log, leak_summary

from .result import State, TestResult
from .utils import StrPath, TestList, TestName

if TYPE_CHECKING:
    from memcheck.checker import Checker

# Counts for the summary, in the main process: (test file, number of
# errors, leaked bytes, the tool's name).
_checked: list[tuple[TestName, int, int, str]] = []

# The test cases that --valgrind does not fail on, and why (the file says
# how to read it).
KNOWN_FILE = os.path.join(os.path.dirname(__file__), "valgrind_known.txt")
# read_known()'s, as --valgrind-known chose
known_entries: list[KnownEntry] | None = None

# A directory: the main process writes the result of each test file there,
# as TEST_NAME.json (WorkerReport.results()), for tools that would otherwise
# read regrtest's output.
RESULTS_ENV = "PYTHONMEMCHECKRESULTS"
# When each worker started (new_xml_file()), and the reports of the workers
# that ended, in the main process.
_started: dict[TestName, float] = {}
_reports: list["WorkerReport"] = []


def read_known(path: StrPath = KNOWN_FILE) -> list[KnownEntry]:
    """The entries of PATH (memcheck.known's format), the ids relative to
    the test package (test_os.TimerfdTests.test_x).  Raise ValueError for
    a line that is not an entry."""
    return known.read(path)


def _ids(test: str) -> tuple[str, str]:
    """The test ids an entry's TEST stands for: of the test package, or of
    a --testdir."""
    return (f"test.{test}", test)


def ignored_tests(entries: list[KnownEntry]) -> list[str]:
    """The patterns of regrtest's --ignore for the cases not to run."""
    return [pattern for entry in known.not_run(entries)
            for pattern in _ids(entry.test)]


def _names(case: str) -> tuple[str, str]:
    """The ids an entry's TEST is matched with: relative to the test
    package, and as they are (a --testdir's)."""
    return (case.removeprefix("test."), case)


def known_findings(test_name: TestName, findings: list[Finding],
                   entries: list[KnownEntry]) -> list[Finding]:
    """The FINDINGS of the file TEST_NAME that ENTRIES make known, judged
    as memcheck.known.covering() says: those of each test case together;
    those outside any case as the file's; a group's leaks of first use
    (or not narrowed down) as its cases' and the file's."""
    name = test_name.removeprefix("test.")
    units: dict[tuple[str, ...], list[Finding]] = {}
    for finding in findings:
        ids: tuple[str, ...]
        if finding.test is not None:
            ids = _names(finding.test)
        else:
            ids = (name,) + tuple(n for case in finding.group
                                  for n in _names(case))
        units.setdefault(ids, []).append(finding)
    covered = {id(f) for ids, unit in units.items()
               if known.covering(entries, ids, unit) is not None
               for f in unit}
    return [f for f in findings if id(f) in covered]


# The tool of the run: memcheck, helgrind or drd (unavailable()).
tool: str = "memcheck"


def unavailable(valgrind_tool: str | None = None) -> str | None:
    """Why --valgrind cannot run here, or None.  VALGRIND_TOOL
    (--valgrind-tool), else PYTHONMEMCHECKTOOL, else memcheck, is the
    tool of the run from then on, if it is one that gives verdicts."""
    global tool
    try:
        import _valgrind
    except ImportError:
        return ("--valgrind needs a Python built with configure "
                "--with-valgrind (no _valgrind module)")
    if shutil.which("valgrind") is None:
        return "--valgrind: valgrind is not installed (not found in PATH)"
    try:
        tool = verdict_tool(valgrind_tool)
    except ValueError as exc:
        where = "--valgrind-tool" if valgrind_tool else TOOL_ENV
        return f"{where}: {exc}"
    return None


def new_xml_file(test_name: TestName) -> StrPath:
    """In the main process, as the worker of TEST_NAME starts: the file of
    its Memcheck log.  The start is noted for the result's wall time."""
    _started[test_name] = time.monotonic()
    fd, path = tempfile.mkstemp(prefix=f"{test_name}-", suffix=".memcheck.xml")
    os.close(fd)
    return path


def worker_command(python_cmd: list[str], options: Sequence[str] | None,
                   xml_file: StrPath) -> list[str]:
    """PYTHON_CMD (the worker's command line) run under the tool of the
    run (Memcheck, Helgrind or DRD), with the extra Valgrind OPTIONS."""
    return verdict_command(python_cmd, xml_file, options or (), tool=tool)


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
                 entries: list[KnownEntry] | None = None) -> None:
        self.test_name = test_name
        self.seconds = time.monotonic() - _started.pop(test_name,
                                                       time.monotonic())
        self.load_avg = _load_avg()
        self.log: Log | None
        try:
            self.log = Log(xml_file) if os.path.getsize(xml_file) else None
        finally:
            os.unlink(xml_file)
        findings: list[Finding] = list(self.log.findings) if self.log else []
        for _, group_leaks in (self.log.first_use + self.log.unnarrowed
                               if self.log else ()):
            findings += group_leaks
        # The tool's name, as the worker's log says, for the report.
        self.title = tool_title(self.log.tool if self.log and self.log.tool
                                else tool)
        if entries is None:
            entries = (known_entries if known_entries is not None
                       else read_known())
        self.known: list[Finding] = known_findings(test_name, findings,
                                                   entries)
        known_ids = {id(f) for f in self.known}
        self.findings: list[Finding] = [f for f in findings
                                        if id(f) not in known_ids]
        # regrtest's result, when the worker gave one (apply()).
        self.result: TestResult | None = None
        _reports.append(self)
        self.write_result()

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
            lines.append(f"\n{self.title}: {self.test_name}: known CPython "
                         f"bugs: {summary(self.known)}")
        if not self.findings:
            return "\n".join(lines)
        lines.append(f"\n{self.title}: {self.test_name}: "
                     f"{summary(self.findings)}")
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
        self.result = result
        _checked.append((self.test_name, self.errors(), self.leaked(),
                         self.title))
        if self.findings:
            if not State.is_failed(result.state):
                result.state = State.FAILED
            if result.xml_data is not None:
                self._mark_junit(result)
        self.write_result()

    def errors(self) -> int:
        return sum(1 for f in self.findings if not f.is_leak)

    def leaked(self) -> int:
        return sum(f.added_bytes for f in self.findings if f.is_leak)

    def results(self) -> dict[str, Any]:
        """The file's result, for tools (RESULTS_ENV): regrtest's state and
        its text ("passed", "skipped (resource denied)"; None and "" when
        the worker gave no result: it crashed, or its timeout stopped it),
        the worker's wall time and the load at its end, the tool, and its
        report as text() shows it, a line an item ("memcheck", whatever
        the tool)."""
        result = self.result
        text = str(result) if result is not None else ""
        return {
            "test": self.test_name,
            "tool": self.title.lower(),
            "state": result.state if result is not None else None,
            "state_text": text.removeprefix(f"{self.test_name} "),
            "wall_seconds": round(self.seconds, 1),
            "load_avg": self.load_avg,
            "session_finished": bool(self.log and self.log.finished),
            "errors": self.errors(),
            "leaked_bytes": self.leaked(),
            "known_findings": len(self.known),
            "failed_cases": {case: summary(findings) for case, findings
                             in self.by_test_case().items()},
            "memcheck": [line for line in self.text().splitlines() if line],
        }

    def write_result(self) -> None:
        """Write results() as DIR/TEST_NAME.json, DIR named by RESULTS_ENV
        (nothing without it).  Written when the worker ends, again with
        regrtest's result, and at the end of the run (print_summary()):
        regrtest may still change the state (leaked temporary files)."""
        directory = os.environ.get(RESULTS_ENV)
        if not directory:
            return
        path = os.path.join(directory, f"{self.test_name}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(self.results(), f, indent=1)
            f.write("\n")
        os.replace(path + ".tmp", path)

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
                    _add_failure(case, findings, self.title)
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
            _add_failure(case, rest, self.title)
            xml_data.append(ET.tostring(suite, encoding="unicode"))
        result.xml_data = xml_data


def _load_avg() -> float | None:
    """The 1-minute load average, as regrtest's progress lines show it: the
    machine may be shared, and wall times grow with the load."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def summary(findings: list[Finding]) -> str:
    errors = sum(1 for f in findings if not f.is_leak)
    parts = [f"{errors} error(s)"] if errors else []
    leaks = leak_summary(findings)
    if leaks:
        parts.append(leaks)
    return "; ".join(parts)


def _add_failure(case: ET.Element, findings: list[Finding],
                 title: str = "Memcheck") -> None:
    failure = ET.SubElement(case, "failure",
                            message=f"{title}: " + summary(findings))
    failure.text = "\n".join(f.format() for f in findings)


def print_summary() -> None:
    for report in _reports:
        report.write_result()
    if not _checked:
        return
    with_errors = [name for name, errors, _, _ in _checked if errors]
    leaking = [name for name, _, leaked, _ in _checked if leaked]
    title = _checked[0][3]
    print()
    if title.lower() in THREAD_TOOLS:
        # Helgrind and DRD check no leaks.
        print(f"{title}: {len(_checked)} test files checked, "
              f"{len(with_errors)} with errors")
    else:
        print(f"{title}: {len(_checked)} test files checked, "
              f"{len(with_errors)} with errors, {len(leaking)} leaking")
    for label, names in (("errors", with_errors), ("leaks", leaking)):
        if names:
            print(f"{title} {label}: {' '.join(sorted(names))}")
    sys.stdout.flush()
