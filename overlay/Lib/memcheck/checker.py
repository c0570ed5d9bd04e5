"""The per-test protocol, inside the process that runs under Memcheck.

Each test runs once.  Errors (invalid reads, uses of uninitialised values)
are reported by Memcheck as they happen, so markers around each test are
enough to blame them.  Leaks need a leak search, which walks the whole heap
(a few tenths of a second under Memcheck for an interpreter with a test
framework loaded, and it grows with the heap): searching after every test
would cost more than the tests.  So tests run in groups:

- a search ends a group when the time since the previous search is at
  least SEARCH_SPACING times what that search took (the searches then cost
  about 1/(SEARCH_SPACING + 1) of the run), or when the framework says
  that the tests' shared fixtures are about to go (end of a class);
- a group whose search found nothing new is clean: each of its tests
  passes, at the price of one search;
- a group whose search found leaks is narrowed down.  Each test runs
  with a tag of its own (_valgrind.set_test_tag(), unique over 65280
  tests), which malloc mode puts into the allocation stack of every block,
  so a leak record names its test, even one of an earlier group.  The
  tests named (all of the group, for a record without a tag: pool mode,
  memory from malloc() itself) run again, then a search.  A test whose second run leaks leaks on every run: the
  leak is its own.  Leaks that no second run repeats happened on first
  use only (a cache filled once, an object created once and lost): they
  are reported as first-use leaks, of their test when a tag names it.
  When records have no tag, halves of the re-run tests run again, each
  followed by a search, down to single tests; when many tests leak so
  (CPython's own leaks of memory from malloc(), in a file of tests that
  all make them), that would re-run the group about log2(N) times over.
  A group's narrowing makes at most narrowing_budget(N) searches, enough
  to find two leaking tests in N; then a "narrowing-stopped" marker names
  the tests it neither cleared nor blamed, and the report blames the
  group's leaks that re-runs repeated on them together.

Under a thread checker (Helgrind, DRD: memcheck.command.THREAD_TOOLS) every
report is an error, blamed by the markers on the test running when the tool
reported it; those tools check no leaks, so there are no searches, no
re-runs and no test tags.

Markers written into the Valgrind log (JSON after memcheck.MARKER) delimit
the tests and the searches; memcheck.report reads them back.
"""

import json
import math
import os
import time

import _valgrind

from . import MARKER
from .command import THREAD_TOOLS

# A search follows at least SEARCH_SPACING times its own cost of tests.
SEARCH_SPACING = 39

# Test tags (_valgrind.set_test_tag()): a low byte of 1 to 255 and a
# high byte of 0 to 255, TAGS of them before they repeat.
TAGS = 255 * 256


def narrowing_budget(count):
    """The searches that narrowing a group of COUNT tests may make."""
    return 2 * math.ceil(math.log2(max(count, 1))) + 2


class _BudgetSpent(Exception):
    """Narrowing made the searches it may make (narrowing_budget())."""


def test_tag(n):
    """The tag of the N-th test run (N from 0)."""
    n %= TAGS
    return (n // 255) << 8 | (n % 255 + 1)


def mark(event, **fields):
    _valgrind.marker(MARKER + json.dumps({"event": event, **fields}))


class Checker:
    def __init__(self, spacing=SEARCH_SPACING, progress_file=None,
                 xml_file=None):
        self.spacing = spacing
        self.progress_file = progress_file
        self._progress_stream = None
        # Reading the leak records of its own log lets the process re-run
        # only the tests that the records' tags name.
        self.xml_file = xml_file
        self.tail = None            # memcheck.report.Tail, once leaks are
        self.log_offset = 0         # found; where this group's log begins
        self.group = []             # (test id, rerun) since the search
        self.runs = 0               # tests run and re-run so far
        self.tagged = {}            # tag -> (test id, rerun)
        self.search_cost = 0.0      # seconds the last search took
        self.last_search = 0.0      # when it ended
        self.searches = 0
        self.search_time = 0.0
        self.searches_left = 0      # of the narrowing under way, and the
        self.unresolved = set()     # tests it has not cleared or blamed
        # Helgrind and DRD check no leaks: no searches, no tags.
        self.checks_leaks = _valgrind.tool() not in THREAD_TOOLS

    def start_session(self):
        if self.checks_leaks:
            self._search(initial=True)
        mark("session-start", tool=_valgrind.tool(), mode=_valgrind.mode())

    def end_session(self):
        self.end_group()
        mark("session-end", searches=self.searches,
             search_seconds=round(self.search_time, 3))
        self._close_progress()

    def _close_progress(self):
        if self._progress_stream is not None:
            self._progress_stream.close()
            self._progress_stream = None

    def forked(self, progress_file, xml_file):
        """In a process forked from this one: its own files, and a search.
        A forked child replaces the locks that CPython re-initialises
        after fork() and leaks the old ones on purpose (another thread
        might have held them): the search keeps them out of the first
        group of tests."""
        self._close_progress()      # this process's copy of the parent's
        self.progress_file = progress_file
        self.xml_file, self.tail = xml_file, None
        if self.checks_leaks:
            mark("search", tests=[], forked=True)
            self._search(initial=True)

    def start_tests(self, count):
        """COUNT tests are about to run.  The time the framework took to
        collect them is no time of tests: the first group starts now."""
        self.last_search = time.monotonic()
        self.progress(pid=os.getpid(), total=count)

    def progress(self, **fields):
        # One JSON line an event, read by the driver to show progress.
        if self.progress_file:
            if self._progress_stream is None:
                self._progress_stream = open(self.progress_file, "a",
                                             encoding="utf-8", buffering=1)
            self._progress_stream.write(json.dumps(fields) + "\n")

    def _next_tag(self):
        self.runs += 1
        return test_tag(self.runs - 1)

    def begin(self, test_id):
        self.tag = self._next_tag() if self.checks_leaks else 0
        mark("begin", test=test_id, tag=self.tag)
        if self.tag:
            _valgrind.set_test_tag(self.tag)
        self._errors_before = _valgrind.count_errors()
        self._began = time.monotonic()

    def end(self, test_id, outcome, rerun):
        """TEST_ID ended with OUTCOME ('passed', 'failed', 'error',
        'skipped', ...).  RERUN() runs it again without reporting, for a
        group that must be narrowed down; None if it cannot."""
        if self.tag:
            _valgrind.set_test_tag(0)
        seconds = round(time.monotonic() - self._began, 3)
        errors = _valgrind.count_errors() - self._errors_before
        mark("end", test=test_id, outcome=outcome, errors=errors,
             seconds=seconds)
        if self.checks_leaks:
            self.group.append((test_id, rerun))
            self.tagged[self.tag] = (test_id, rerun)
        self.progress(test=test_id, outcome=outcome, errors=errors)

    def search_due(self):
        if not self.checks_leaks:
            return False
        return (time.monotonic() - self.last_search
                >= self.spacing * self.search_cost)

    def end_group(self):
        """Search for leaks now, and narrow the group down if it leaked."""
        if not self.group:
            return
        group, self.group = self.group, []
        mark("search", tests=[test_id for test_id, _ in group])
        # What the log holds before the search is not this group's.
        self.log_offset = _size(self.xml_file)
        leaked = self._search()
        if not leaked:
            return
        tags = self._leak_tags()
        # The tests that the records' tags name, or all of the group when a
        # record has no tag (pool mode, or memory from malloc() itself).
        if tags is None:
            candidates = group
        else:
            candidates = list(dict.fromkeys(
                self.tagged[tag] for tag in sorted(tags)
                if tag in self.tagged))
        # Progress counts the tests named, or one when none is yet.
        self.progress(leaked=leaked,
                      tests=1 if tags is None else max(len(candidates), 1))
        candidates = [test for test in candidates if test[1] is not None]
        self.searches_left = narrowing_budget(len(candidates))
        self.unresolved = {test_id for test_id, _ in candidates}
        try:
            # Run them again: if nothing leaks, the leak was of first use.
            if candidates and self._rerun(candidates):
                if self._leak_tags() is None:
                    self._bisect(candidates)
        except _BudgetSpent:
            mark("narrowing-stopped", tests=[
                test_id for test_id, _ in candidates
                if test_id in self.unresolved])

    def _leak_tags(self):
        """The tags of the leak records the last search wrote, or None if
        one has none (or the log cannot be read)."""
        if self.xml_file is None:
            return None
        if self.tail is None:
            # Read the log only once a search finds leaks: a clean run
            # does without the XML parser.
            from .report import Tail
            self.tail = Tail(self.xml_file, self.log_offset)
        elif self.tail.offset < self.log_offset:
            self.tail.offset = self.log_offset      # a later group
        tags = {record.tag for record in self.tail.new_leaks()}
        return None if None in tags else tags

    def _bisect(self, tests):
        """TESTS leaked when run again: find each test that does.  A search
        costs more than a small test under Memcheck, so halves are re-run
        whole: about 2 log2(N) searches for one leaking test in N."""
        if len(tests) == 1:
            return              # its own search confirmed it
        half = len(tests) // 2
        first, second = tests[:half], tests[half:]
        first_leaked = self._rerun(first)
        if first_leaked:
            self._bisect(first)
        if first_leaked and not self._rerun(second):
            return
        if len(second) == 1 and not first_leaked:
            # The leak is in SECOND, but its test needs a search of its own.
            if not self._rerun(second):
                return
        self._bisect(second)

    def _rerun(self, tests):
        """Run TESTS again, each with a tag of its own, then search: did
        they leak?"""
        if self.searches_left <= 0:
            raise _BudgetSpent
        self.searches_left -= 1
        for test_id, rerun in tests:
            tag = self._next_tag()
            self.tagged[tag] = (test_id, rerun)
            mark("rerun", test=test_id, tag=tag)
            _valgrind.set_test_tag(tag)
            try:
                rerun()
            except Exception:
                pass            # its outcome does not matter, its leaks do
            finally:
                _valgrind.set_test_tag(0)
        mark("search", tests=[test_id for test_id, _ in tests], rerun=True)
        leaked = self._search()
        if not leaked or len(tests) == 1:
            # Cleared, or its own re-run's records blame it.
            self.unresolved.difference_update(test_id for test_id, _ in tests)
        return leaked

    def _search(self, initial=False):
        start = time.monotonic()
        counts = _valgrind.leak_check()
        self.last_search = time.monotonic()
        self.search_cost = self.last_search - start
        if not initial:
            self.searches += 1
            self.search_time += self.search_cost
        mark("searched", leaked=counts.leaked, possible=counts.possible,
             seconds=round(self.search_cost, 3))
        # Every leak kind but "still reachable" is a leak, as at exit.
        return max(counts.leaked, 0) + max(counts.possible, 0)


def _size(path):
    try:
        return os.path.getsize(path) if path else 0
    except OSError:
        return 0
