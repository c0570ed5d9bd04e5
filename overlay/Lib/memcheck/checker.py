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
- a group whose search found leaks is narrowed down.  Each test of a
  group runs with a number of its own, 1 to 255 (_valgrind.set_test_tag()),
  which malloc mode puts into the allocation stack of every block, so a
  leak record names its test.  The tests named (all of them, for a record
  without a number: pool mode, memory from malloc() itself) run again,
  then a search.  A test whose second run leaks leaks on every run: the
  leak is its own.  Leaks that no second run repeats happened on first
  use only (a cache filled once, an object created once and lost): they
  are reported as first-use leaks, of their test when a number names it.
  When records have no number, halves of the re-run tests run again, each
  followed by a search, down to single tests.

Markers written into the Valgrind log (JSON after memcheck.MARKER) delimit
the tests and the searches; memcheck.report reads them back.
"""

import json
import time

import _valgrind

from . import MARKER

# A search follows at least SEARCH_SPACING times its own cost of tests.
SEARCH_SPACING = 39

# Tests of a group are numbered 1 to MAX_TAG (_valgrind.set_test_tag()).
MAX_TAG = 255


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
        if xml_file:
            from .report import Tail
            self.tail = Tail(xml_file)
        else:
            self.tail = None
        self.group = []             # (test id, rerun, tag) since the search
        self.search_cost = 0.0      # seconds the last search took
        self.last_search = 0.0      # when it ended
        self.searches = 0
        self.search_time = 0.0

    def start_session(self):
        self._search(initial=True)
        mark("session-start", tool=_valgrind.tool(), mode=_valgrind.mode())

    def end_session(self):
        self.end_group()
        mark("session-end", searches=self.searches,
             search_seconds=round(self.search_time, 3))

    def start_tests(self, count):
        """COUNT tests are about to run.  The time the framework took to
        collect them is no time of tests: the first group starts now."""
        self.last_search = time.monotonic()
        self._progress(total=count)

    def _progress(self, **fields):
        # One JSON line an event, read by the driver to show progress.
        if self.progress_file:
            if self._progress_stream is None:
                self._progress_stream = open(self.progress_file, "a",
                                             encoding="utf-8", buffering=1)
            self._progress_stream.write(json.dumps(fields) + "\n")

    def begin(self, test_id):
        self.tag = len(self.group) % MAX_TAG + 1
        mark("begin", test=test_id, tag=self.tag)
        _valgrind.set_test_tag(self.tag)
        self._errors_before = _valgrind.count_errors()

    def end(self, test_id, outcome, rerun):
        """TEST_ID ended with OUTCOME ('passed', 'failed', 'error',
        'skipped', ...).  RERUN() runs it again without reporting, for a
        group that must be narrowed down; None if it cannot."""
        _valgrind.set_test_tag(0)
        errors = _valgrind.count_errors() - self._errors_before
        mark("end", test=test_id, outcome=outcome, errors=errors)
        self.group.append((test_id, rerun, self.tag))
        self._progress(test=test_id, outcome=outcome, errors=errors)

    def search_due(self):
        return (time.monotonic() - self.last_search
                >= self.spacing * self.search_cost)

    def end_group(self):
        """Search for leaks now, and narrow the group down if it leaked."""
        if not self.group:
            return
        group, self.group = self.group, []
        mark("search", tests=[test_id for test_id, _, _ in group])
        if self.tail is not None:
            self.tail.skip()            # what came before is not this group's
        leaked = self._search()
        if not leaked:
            return
        self._progress(leaked=leaked)
        tags = self._leak_tags()
        # The tests that the records' tags name, or all of them when a
        # record has no tag (pool mode, or memory from malloc() itself).
        candidates = [(test_id, rerun) for test_id, rerun, tag in group
                      if rerun is not None and (tags is None or tag in tags)]
        # Run them again: if nothing leaks, the leak was of first use.
        if not candidates or not self._rerun(candidates):
            return
        if self._leak_tags() is None or len(candidates) > MAX_TAG:
            self._bisect(candidates)

    def _leak_tags(self):
        """The tags of the leak records the last search wrote, or None if
        one has none (or the log cannot be read)."""
        if self.tail is None:
            return None
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
        for i, (test_id, rerun) in enumerate(tests):
            tag = i % MAX_TAG + 1
            mark("rerun", test=test_id, tag=tag)
            _valgrind.set_test_tag(tag)
            try:
                rerun()
            except Exception:
                pass            # its outcome does not matter, its leaks do
            finally:
                _valgrind.set_test_tag(0)
        mark("search", tests=[test_id for test_id, _ in tests], rerun=True)
        return self._search()

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
        # Blocks reached only by interior pointers ("possibly lost") are
        # normal while the interpreter runs: a PyObject * points past the
        # GC header.  Only definite and indirect losses are leaks here.
        return max(counts.leaked, 0)
