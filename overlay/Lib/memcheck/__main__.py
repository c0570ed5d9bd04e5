"""python -m memcheck: run a test suite under Memcheck, one verdict a test.

--tool=helgrind or --tool=drd (or PYTHONMEMCHECKTOOL) runs it under a thread
checker instead: every report (a data race, a misuse of a lock) fails the
test that was running when the tool made it, and nothing is searched for
leaks.

Exit status: 0 when every test passed with no finding (known findings
aside), 1 when a test failed or the tool found something, 2 when the suite
could not be run."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from . import parse_shard
from . import junit
from . import known
from ._child import CONFIG_ENV
from .command import (THREAD_TOOLS, TOOL_ENV, VERDICT_TOOLS, tool_title,
                      verdict_command, verdict_tool)
from .progress import Progress
from .junit import Verdict
from .report import Log, leak_summary


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m memcheck",
        description="Run a unittest or pytest suite under Valgrind's "
                    "Memcheck with a verdict per test: a test fails when "
                    "it causes a Memcheck error or leaks memory (definitely, "
                    "indirectly or possibly lost), as the leak-gating "
                    "Memcheck options would report at exit.  Under "
                    "--tool=helgrind or drd, a test fails when the tool "
                    "reports a data race or a misuse of a lock while it "
                    "runs (no leaks are checked).")
    parser.add_argument("--tool", choices=VERDICT_TOOLS,
                        help="the Valgrind tool: memcheck, or a thread "
                             "checker, helgrind or drd, whose every report "
                             "fails the test running then (default: "
                             f"{TOOL_ENV}, else memcheck)")
    parser.add_argument("--junit-xml", metavar="FILE",
                        help="write the verdicts as JUnit XML")
    parser.add_argument("--known", metavar="PATTERN", action="append",
                        default=[],
                        help="a known issue: findings of tests whose id "
                             "matches PATTERN (fnmatch), or whose stack has "
                             "a function matching it, do not fail the run "
                             "(repeatable)")
    parser.add_argument("--known-file", metavar="FILE",
                        help="known issues, an entry a line: 'TEST "
                             "CATEGORY [frames=FUNCTION,...] REASON' or a "
                             "lone PATTERN, as --known (# comments; "
                             "memcheck.known)")
    parser.add_argument("-j", "--jobs", metavar="N", type=_jobs, default=1,
                        help="run the tests in N processes under the tool, "
                             "forked once the tests are collected (0: one a "
                             "CPU); tests that share a class or module "
                             "fixture stay in one")
    parser.add_argument("--shard", metavar="K/N", type=_shard,
                        help="run only the K-th of N slices of the tests "
                             "(round-robin in collection order)")
    parser.add_argument("--valgrind-opt", metavar="OPTION", action="append",
                        default=[],
                        help="an extra Valgrind option, e.g. "
                             "--valgrind-opt=--track-origins=yes, "
                             "--valgrind-opt=--history-level=approx "
                             "(repeatable; PYTHONMEMCHECKOPTS too)")
    parser.add_argument("--xml-file", metavar="FILE",
                        help="keep the tool's XML output in FILE (with "
                             "-jN: FILE-1 ... FILE-N, before the suffix)")
    parser.add_argument("framework", choices=("unittest", "pytest"))
    parser.add_argument("args", nargs=argparse.REMAINDER,
                        help="arguments of the framework's command line")
    ns = parser.parse_args(argv)
    try:
        ns.tool = verdict_tool(ns.tool)
    except ValueError as exc:
        parser.error(f"{TOOL_ENV}: {exc}")
    ns.known = [entry for pattern in ns.known
                for entry in known.from_pattern(pattern, f"--known {pattern}")]
    if ns.known_file:
        ns.known += _read_known_file(parser, ns.known_file)
    return ns


def _read_known_file(parser, path):
    """The entries of --known-file PATH; a line that is not one stops the
    run before any test, with where it is and what was expected."""
    try:
        entries = known.read(path)
    except (OSError, ValueError) as exc:
        parser.error(f"--known-file: {exc}")
    left_out = known.not_run(entries)
    if left_out:
        # The framework selects the tests: unittest -k, pytest --deselect.
        parser.error(f"--known-file: {left_out[0].where}: category "
                     f"{left_out[0].category!r} leaves tests out, which "
                     f"only regrtest --valgrind does: deselect them in "
                     f"the framework's arguments")
    return entries


def _jobs(text):
    try:
        jobs = int(text)
    except ValueError:
        jobs = -1
    if jobs < 0:
        raise argparse.ArgumentTypeError(f"-j needs a number >= 0, got "
                                         f"{text!r}")
    return jobs or os.cpu_count() or 1


def _shard(text):
    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc))


# The verdict of the findings that no test explains (leaks of objects made
# before the tests, found at exit); --known matches it by this name too.
OUTSIDE_TESTS = "(outside tests)"


def is_known(entries, ids, findings):
    """Whether ENTRIES (memcheck.known) make FINDINGS known, the findings
    of one verdict, whose names are IDS (a test id, a group's tests,
    OUTSIDE_TESTS)."""
    return known.covering(entries, ids, findings) is not None


def verdict(test, fields, findings, entries, title="Memcheck"):
    """(status, message, details) of one test; TITLE: the tool's name."""
    outcome = fields.get("outcome")
    problems = []
    kinds = sorted({f.kind for f in findings if not f.is_leak})
    if kinds or fields.get("errors"):
        problems.append(", ".join(kinds) or f"{fields['errors']} error(s) "
                        f"(reported before, for another test)")
    leaks = leak_summary(findings)
    if leaks:
        if all(f.phase == "first-use" for f in findings if f.is_leak):
            leaks += " (on first use only: a second run did not leak)"
        problems.append(leaks)
    details = format_findings(findings)
    if not fields:
        # The process stopped inside this test (a crash).
        return "error", "the process stopped during this test", details
    message = f"{title}: " + "; ".join(problems) if problems else ""
    known_issue = bool(problems) and is_known(entries, [test], findings)
    if problems and not known_issue:
        return "failed", message, details
    if outcome in ("failed", "error"):
        # A known issue does not hide a failing test.
        return outcome, "; ".join(filter(None, [
            f"test {outcome} (see the test output)", message])), details
    if known_issue:
        return "known", "known issue: " + message, details
    return outcome or "passed", "", ""


def format_findings(findings):
    """The reports, once each: a test and its re-run report the same error
    twice when their stacks differ below the test."""
    shown, lines = set(), []
    for finding in findings:
        key = (finding.kind,
               tuple(map(str, finding.caller_frames()[:3 if finding.is_leak
                                                      else 1])))
        if key not in shown:
            shown.add(key)
            lines.append(finding.format())
    return "\n".join(lines)


def main(argv=None):
    ns = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        import _valgrind
    except ImportError:
        print(f"memcheck: {sys.executable} has no _valgrind module: build it "
              f"with configure --with-valgrind", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="memcheck-") as tmp:
        start = time.monotonic()
        try:
            run = Run(ns, tmp)
        except FileNotFoundError:
            print("memcheck: valgrind is not installed", file=sys.stderr)
            return 2
        progress = Progress(run.progress_files)
        while run.proc.poll() is None:
            progress.update()
            try:
                run.proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        progress.finish()
        elapsed = time.monotonic() - start
        logs = []
        jobs = run.jobs()
        for job in jobs:
            run.print_output(job, len(jobs))
            xml_file = run.xml_file(job)
            if xml_file is None:
                print("memcheck: Valgrind wrote no report; see above",
                      file=sys.stderr)
                return 2
            logs.append((Log(xml_file), run.exit_status(job)))
    return judge(ns, logs, elapsed)


class Run:
    """The process under the tool (memcheck._child), and the files of each
    of the -jN processes it forks: output, progress and XML log of job K
    (1 for the process started here)."""

    def __init__(self, ns, tmp):
        self.ns = ns
        self.tmp = tmp
        self.progress_files = [self._file("progress", k, "jsonl")
                               for k in range(1, ns.jobs + 1)]
        # A forked process writes its own log: %p is its process id.
        self.xml_pattern = os.path.join(tmp, "memcheck-%p.xml")
        if ns.xml_file and ns.jobs == 1:
            self.xml_pattern = ns.xml_file
        cmd = verdict_command(
            [sys.executable, "-m", "memcheck._child", ns.framework, *ns.args],
            self.xml_pattern, ns.valgrind_opt, tool=ns.tool)
        env = dict(os.environ)
        env[CONFIG_ENV] = json.dumps({
            "shard": ns.shard,
            "jobs": ns.jobs,
            "progress": self._file("progress", "{}", "jsonl"),
            "output": self._file("output", "{}", "txt"),
            "xml": self.xml_pattern,
            "units": os.path.join(tmp, "units-taken"),
        })
        with open(self._file("output", 1, "txt"), "wb") as output:
            self.proc = subprocess.Popen(cmd, env=env, stdout=output,
                                         stderr=subprocess.STDOUT)

    def _file(self, kind, k, ext):
        return os.path.join(self.tmp, f"{kind}-{k}.{ext}")

    def _events(self, k):
        try:
            with open(self.progress_files[k - 1], encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.endswith("\n")]
        except FileNotFoundError:
            return []

    def jobs(self):
        """The job numbers of the processes that ran (all N, unless the
        process could not fork)."""
        return [k for k in range(1, self.ns.jobs + 1)
                if k == 1 or any("pid" in e for e in self._events(k))]

    def exit_status(self, k):
        if k == 1:
            return self.proc.returncode
        return next((e["exit"] for e in self._events(k) if "exit" in e),
                    None)

    def xml_file(self, k):
        """Job K's XML log (renamed FILE-K.ext with --xml-file FILE), or
        None if there is none."""
        pids = [e["pid"] for e in self._events(k) if "pid" in e]
        path = self.xml_pattern.replace(
            "%p", str(pids[0] if pids else self.proc.pid))
        if not os.path.exists(path):
            return None
        if self.ns.xml_file and self.ns.jobs > 1:
            base, ext = os.path.splitext(self.ns.xml_file)
            os.replace(path, f"{base}-{k}{ext}")
            path = f"{base}-{k}{ext}"
        return path

    def print_output(self, k, count):
        """The test runner's own output (and Valgrind's messages)."""
        if count > 1:
            print(f"\n== process {k} of {count} ==")
        try:
            with open(self._file("output", k, "txt"), encoding="utf-8",
                      errors="replace") as f:
                sys.stdout.write(f.read())
        except FileNotFoundError:
            pass
        sys.stdout.flush()


def judge(ns, logs, elapsed):
    """Verdicts of the (Log, exit status) of every process, merged."""
    verdicts = []
    outside_seen = set()
    for log, returncode in logs:
        verdicts += log_verdicts(ns, log, returncode, outside_seen)
    print_report(verdicts, tool_title(ns.tool))
    processes = f"{len(logs)} process{'es' if len(logs) > 1 else ''}"
    if ns.tool in THREAD_TOOLS:
        print(f"memcheck: {tool_title(ns.tool)} checks no leaks: "
              f"{elapsed * len(logs):.1f} s of process time ({processes})")
    else:
        searches = sum(log.session.get("searches", 0) for log, _ in logs)
        seconds = sum(log.session.get("search_seconds", 0)
                      for log, _ in logs)
        # A search walks the whole heap: its cost grows with the heap, not
        # with the tests it follows.
        average = seconds / searches if searches else 0
        print(f"memcheck: {searches} leak searches, {average:.2f} s each, "
              f"took {seconds:.1f} s of {elapsed * len(logs):.1f} s of "
              f"process time ({processes})")
    if ns.junit_xml:
        junit.write(ns.junit_xml, "memcheck", verdicts, elapsed)
    failing = [v for v in verdicts if v[1] in ("failed", "error")]
    return 1 if failing else 0


def log_verdicts(ns, log, returncode, outside_seen):
    """The verdicts of one process.  OUTSIDE_SEEN: the findings outside
    tests that an earlier process reported (forked processes share what
    came before the fork)."""
    title = tool_title(ns.tool)
    verdicts = []
    for test in log.order:
        status, message, details = verdict(
            test, log.tests[test], log.findings_of(test), ns.known, title)
        verdicts.append(Verdict(test, status, message, details,
                                log.tests[test].get("seconds")))
    for groups, label, how in (
            (log.first_use, "first use",
             "on first use by one of {} tests (a second run of each did "
             "not leak)"),
            (log.unnarrowed, "not narrowed down",
             "in the group's search, at sites that re-runs of these {} "
             "tests leaked again (the narrowing stopped at its budget of "
             "searches)")):
        for tests, findings in groups:
            group = f"({label}, in {tests[0]} ... {tests[-1]})"
            status = ("known" if is_known(ns.known, tests, findings)
                      else "failed")
            verdicts.append(Verdict(group, status,
                             f"{title}: " + leak_summary(findings) + " "
                             + how.format(len(tests)),
                             format_findings(findings)))
    outside = [f for f in log.outside_tests()
               if (f.kind, f.stack_key) not in outside_seen]
    outside_seen.update((f.kind, f.stack_key) for f in outside)
    if outside:
        status = ("known" if is_known(ns.known, [OUTSIDE_TESTS], outside)
                  else "failed")
        message = (f"{title} findings outside any test: "
                   + "; ".join(filter(None, [
                       ", ".join(sorted({f.kind for f in outside
                                         if not f.is_leak})),
                       leak_summary(outside)])))
        details = format_findings(outside)
        verdicts.append(Verdict(OUTSIDE_TESTS, status, message, details))
    if not log.finished:
        verdicts.append(Verdict("(session)", "error",
                         f"the process under {title} ended early "
                         f"(exit status {returncode})", ""))
    return verdicts


def print_report(verdicts, title="Memcheck"):
    print(f"\n== {title} verdicts ==")
    for test, status, message, details, _ in verdicts:
        if status in ("failed", "error", "known"):
            print(f"{status.upper()}: {test}: {message}")
            if details:
                print(details)
    counts = {}
    for v in verdicts:
        counts[v[1]] = counts.get(v[1], 0) + 1
    print("memcheck: " + ", ".join(
        f"{counts.get(s, 0)} {s}"
        for s in ("passed", "failed", "error", "known", "skipped")))


if __name__ == "__main__":
    sys.exit(main())
