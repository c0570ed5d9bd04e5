"""regrtest --valgrind: each test file in a worker of its own, under Memcheck.

The main process starts every worker under Memcheck (memcheck's options, then
PYTHONMEMCHECKOPTS, then --valgrind-opt) with XML output to a file of its
own.  The worker writes a marker into that file as each test case starts.
When the worker ends, the main process reads the file: a test file with a
Memcheck error, or with definitely or indirectly lost memory when its worker
exits, fails, with a compact report (kind, bytes, top frames, and the test
case that was running for errors).  The findings go into --junit-xml too.
"""

import os
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET

from memcheck import parse_shard, in_shard
from memcheck.command import verdict_command
from memcheck.report import Log, leak_summary

from .result import State

# Counts for the summary, in the main process.
_checked = []           # (test file, number of errors, leaked bytes)


def unavailable():
    """Why --valgrind cannot run here, or None."""
    try:
        import _valgrind
    except ImportError:
        return ("--valgrind needs a Python built with configure "
                "--with-valgrind (no _valgrind module)")
    if shutil.which("valgrind") is None:
        return "--valgrind: valgrind is not installed (not found in PATH)"
    return None


def shard_tests(tests, shard):
    """The K-th of N round-robin slices of TESTS (in their given order),
    for --shard K/N."""
    if shard is None:
        return tests
    return [test for i, test in enumerate(tests)
            if in_shard(i, parse_shard(shard))]


def new_xml_file(test_name):
    fd, path = tempfile.mkstemp(prefix=f"{test_name}-", suffix=".memcheck.xml")
    os.close(fd)
    return path


def worker_command(python_cmd, options, xml_file):
    """PYTHON_CMD (the worker's command line) run under Memcheck."""
    return verdict_command(python_cmd, xml_file, options)


def mark_test_cases():
    """In the worker: write a marker as each test case starts, so that the
    main process can tell which one caused an error."""
    import unittest
    from memcheck.checker import mark
    start_test = unittest.TestResult.startTest

    def startTest(self, test):
        mark("begin", test=test.id(), phase="run")
        start_test(self, test)

    unittest.TestResult.startTest = startTest


def end_of_tests():
    """In the worker: what Memcheck reports after this comes from the
    process's exit (leaks)."""
    from memcheck.checker import mark
    mark("session-end")


class WorkerReport:
    """The findings in one worker's XML file (which it removes)."""

    def __init__(self, test_name, xml_file):
        self.test_name = test_name
        try:
            self.log = Log(xml_file) if os.path.getsize(xml_file) else None
        finally:
            os.unlink(xml_file)
        self.findings = self.log.findings if self.log else []

    def text(self):
        if not self.findings:
            return ""
        lines = [f"\nMemcheck: {self.test_name}: {self.summary()}"]
        for finding in self.findings:
            when = (f"in {finding.test}" if finding.test
                    else "at exit" if finding.phase == "exit"
                    else "outside the test cases")
            lines.append(f"  {when}:")
            lines.append(finding.format())
        return "\n".join(lines)

    def summary(self):
        errors = sum(1 for f in self.findings if not f.is_leak)
        parts = [f"{errors} error(s)"] if errors else []
        leaks = leak_summary(self.findings)
        if leaks:
            parts.append(leaks)
        return "; ".join(parts)

    def apply(self, result):
        """Fail RESULT (a TestResult) when there are findings."""
        errors = sum(1 for f in self.findings if not f.is_leak)
        leaked = sum(f.added_bytes for f in self.findings if f.is_leak)
        _checked.append((self.test_name, errors, leaked))
        if not self.findings:
            return
        if not State.is_failed(result.state):
            result.state = State.FAILED
        if result.xml_data is not None:
            result.xml_data.append(self._junit())

    def _junit(self):
        suite = ET.Element("testsuite", name=f"memcheck.{self.test_name}",
                           tests="1", failures="1", errors="0")
        case = ET.SubElement(suite, "testcase", classname=self.test_name,
                             name="memcheck")
        failure = ET.SubElement(case, "failure",
                                message="Memcheck: " + self.summary())
        failure.text = self.text()
        return ET.tostring(suite, encoding="unicode")


def print_summary():
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
