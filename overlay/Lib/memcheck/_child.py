"""The process under Memcheck: run a unittest or pytest suite through the
per-test checker.  Started by "python -m memcheck"; its settings come in the
environment variable named by CONFIG_ENV (JSON)."""

import fcntl
import json
import os
import sys
import threading
import unittest

from . import select
from .checker import Checker

CONFIG_ENV = "_PYTHON_MEMCHECK_CHILD"


class Share:
    """The tests this process runs: its --shard slice, and with -jN, the
    share of one of N processes.

    The N processes are forked from this one once the tests are collected.
    Under Memcheck, starting the interpreter, importing the framework and
    collecting the tests cost seconds to tens of seconds (a pytest suite:
    about a third of its run); forked, they are paid once, not N times.
    Valgrind follows a fork: the child runs under Memcheck too, inherits
    its heap and its leak searches so far, and writes a log of its own
    (the --xml-file name holds %p, the process id)."""

    def __init__(self, config, checker):
        self.config = config
        self.checker = checker
        self.shard = tuple(config["shard"]) if config["shard"] else None
        self.jobs = config["jobs"]
        self.job = 1
        self.children = {}      # pid -> job number

    def choose(self, units):
        """The positions of the tests to run here, in order, UNITS holding
        the unit of each collected test (memcheck.select()): a list, or
        with -jN an iterator, once it has forked.

        With -jN the units are dealt as the processes ask: a process that
        is done with a unit takes the next one that no process took yet,
        in collection order.  Dealt in advance, by their number of tests,
        the processes ended far apart: a suite's slow tests sit together
        (test_json's recursion and unicode tests: 42 s of tests in one
        process, 5 s in the other)."""
        positions = select(units, self.shard)
        # No process without a unit of tests to run.
        self.jobs = min(self.jobs, len({units[i] for i in positions})) or 1
        if self.jobs > 1:
            with open(self.config["units"], "wb"):
                pass            # no unit taken yet
            self._fork()
        self.checker.progress(jobs=self.jobs)
        # The first process counts all the tests, for the progress line.
        self.checker.start_tests(len(positions) if self.job == 1 else 0)
        if self.jobs == 1:
            return positions
        return self._dealt(positions, units)

    def _dealt(self, positions, units):
        members = {}            # unit -> its positions, in order
        for i in positions:
            members.setdefault(units[i], []).append(i)
        members = list(members.values())
        while (k := _take_next(self.config["units"])) < len(members):
            yield from members[k]

    def _fork(self):
        if threading.active_count() > 1:
            # A fork copies only the calling thread: the others' locks
            # could stay held forever in the child.
            print(f"memcheck: threads run after collection: the tests run "
                  f"in one process, not {self.jobs}", file=sys.stderr)
            self.jobs = 1
            return
        sys.stdout.flush()
        sys.stderr.flush()
        for job in range(2, self.jobs + 1):
            pid = os.fork()
            if pid == 0:
                self._become(job)
                return
            self.children[pid] = job

    def _become(self, job):
        """In a forked child: take job number JOB and its files."""
        self.job, self.children = job, {}
        _redirect(self.config["output"].format(1),
                  self.config["output"].format(job))
        self.checker.forked(
            progress_file=self.config["progress"].format(job),
            xml_file=_own_log(self.config["xml"]))

    def wait(self):
        """Wait for the forked processes; record each one's exit status in
        its progress file, for the driver."""
        for pid, job in self.children.items():
            _, status = os.waitpid(pid, 0)
            with open(self.config["progress"].format(job), "a",
                      encoding="utf-8") as f:
                f.write(json.dumps({"exit": os.waitstatus_to_exitcode(
                    status)}) + "\n")


def _take_next(path):
    """Take the next number from the counter in file PATH, which the -jN
    processes share: 0, 1, 2, ... each number once."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        taken = int.from_bytes(os.pread(fd, 8, 0), "little")
        os.pwrite(fd, (taken + 1).to_bytes(8, "little"), 0)
        return taken
    finally:
        os.close(fd)            # and the lock with it


def _own_log(pattern):
    """This process's XML log: Valgrind's --xml-file PATTERN, %p being the
    process id."""
    return pattern.replace("%p", str(os.getpid()))


def _redirect(old, new):
    """Make every file descriptor open on file OLD write to file NEW: not
    only 1 and 2, but the copies that a framework keeps while it captures
    output (pytest restores its copy of 1 when it shows progress)."""
    fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    old = os.path.realpath(old)
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.path.realpath(f"/proc/self/fd/{name}") == old:
                os.dup2(fd, int(name))
        except OSError:
            pass            # closed meanwhile, or Valgrind's own
    os.close(fd)


def run_unittest(argv, share):
    from .unittest_checker import CheckedSuite, unit

    class CheckedProgram(unittest.TestProgram):
        def runTests(self):
            tests = list(_flatten(self.test))
            units = list(map(unit, tests))
            self.test = CheckedSuite(
                (tests[i] for i in share.choose(units)), share.checker)
            super().runTests()

    CheckedProgram(module=None, argv=["python -m unittest", *argv])


def _flatten(suite):
    if isinstance(suite, unittest.TestSuite):
        for test in suite:
            yield from _flatten(test)
    else:
        yield suite


def run_pytest(argv, share):
    import pytest
    from .pytest_plugin import Plugin
    return pytest.main(argv, plugins=[Plugin(share)])


def main():
    config = json.loads(os.environ.pop(CONFIG_ENV))
    framework, argv = sys.argv[1], sys.argv[2:]
    checker = Checker(progress_file=config["progress"].format(1),
                      xml_file=_own_log(config["xml"]))
    checker.start_session()
    share = Share(config, checker)
    status = 0
    try:
        if framework == "unittest":
            run_unittest(argv, share)
        else:
            status = run_pytest(argv, share)
    except SystemExit as exc:
        status = exc.code
    finally:
        checker.end_session()
        share.wait()
    sys.exit(status)


if __name__ == "__main__":
    main()
