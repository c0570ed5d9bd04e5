"""JUnit XML for per-test verdicts, in the form CI services read."""

import collections
import xml.etree.ElementTree as ET

# One test's verdict: STATUS is 'passed', 'failed', 'error', 'skipped' or
# 'known'; SECONDS the wall time of its run under Memcheck (None for a
# verdict of no single test: first-use leaks, findings outside tests).
Verdict = collections.namedtuple(
    "Verdict", "test status message details seconds", defaults=(None,))


def write(path, suite_name, verdicts, time_taken):
    """VERDICTS: a Verdict of each test."""
    counts = {s: sum(1 for v in verdicts if v[1] == s)
              for s in ("failed", "error", "skipped", "known")}
    suite = ET.Element("testsuite", name=suite_name, tests=str(len(verdicts)),
                       failures=str(counts["failed"]),
                       errors=str(counts["error"]),
                       skipped=str(counts["skipped"] + counts["known"]),
                       time=f"{time_taken:.3f}")
    for test_id, status, message, details, seconds in verdicts:
        classname, _, name = test_id.rpartition(".")
        if "::" in test_id:
            classname, _, name = test_id.rpartition("::")
        if test_id.startswith("("):     # a verdict of no single test
            classname, name = suite_name, test_id
        case = ET.SubElement(suite, "testcase", classname=classname,
                             name=name, time=f"{seconds or 0:.3f}")
        if status in ("failed", "error"):
            tag = "failure" if status == "failed" else "error"
            ET.SubElement(case, tag, message=message).text = details
        elif status in ("skipped", "known"):
            ET.SubElement(case, "skipped", message=message).text = details
    tree = ET.ElementTree(ET.Element("testsuites"))
    tree.getroot().append(suite)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
