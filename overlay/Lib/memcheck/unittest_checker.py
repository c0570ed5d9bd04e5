"""unittest under the per-test checker (memcheck.checker), for "python -m
memcheck unittest" and regrtest's --valgrind alike.

"python -m memcheck unittest" runs its tests as a CheckedSuite, through
unittest's public interfaces:

- the suite provides its tests lazily, by overriding __iter__() (as
  unittest's documentation offers).  TestSuite.run() takes the next test
  from it when the one before has returned, and only then tears down the
  fixtures that the next one does not share: so the suite ends there the
  test that ran (its outcome, a leak search when one is due), and before a
  test of another class, if the class that ran or its module has fixtures
  of its own (setUpClass, setUpModule, ...), searches the group while they
  are still up, so that re-runs of its tests (a test case called again
  with a throwaway result) find them;
- the result that the suite hands its tests wraps the runner's: its
  startTest() begins the test's window (markers, test tag).  It comes
  inside TestCase.run(): what a subclass's run() does before it
  (IsolatedAsyncioTestCase makes its event loop) is outside the window,
  but inside each re-run, which calls the whole test.

regrtest builds and runs its suites itself, with its own runner and result
classes: install() hooks TestCase.__call__ and the private
TestSuite._tearDownPreviousClass for the whole process instead, the same
boundaries reached from inside unittest.
"""

import functools
import sys
import unittest


class CheckedSuite(unittest.TestSuite):
    """A flat suite of TESTS (an iterable, read as the tests run: with -jN
    the tests come as they are dealt), with the class and module fixtures
    of a TestSuite, each test run between the CHECKER's markers."""

    def __init__(self, tests, checker):
        super().__init__()
        self.pending = tests
        self.checker = checker
        self.result = None
        self.running = None     # _begin()'s record of the test running

    def run(self, result, debug=False):
        self.result = _WatchedResult(result, self)
        super().run(self.result, debug)
        return result

    def __iter__(self):
        previous = None         # the class of the test handed out last
        for test in self.pending:
            self._leaving(previous, type(test))
            yield test
            # The test returned (or was skipped with its class).
            self._finish()
            previous = type(test)
        self._leaving(previous, None)

    def _removeTestAtIndex(self, index):
        # Documented as overridable.  The suite holds no list of tests to
        # drop one from: the iterator that it reads lets each go.
        pass

    def started(self, test):
        """TEST, run by the suite, began (startTest())."""
        if self.running is None:    # not a test that a test runs
            self.running = _begin(self.checker, test, self.result)

    def _finish(self):
        if self.running is not None:
            running, self.running = self.running, None
            _end(self.checker, running, self.result,
                 functools.partial(_rerun, running.spare))

    def _leaving(self, previous, following):
        """The suite is about to tear down the fixtures of class PREVIOUS
        (and of its module) that a test of class FOLLOWING (None: no more
        tests) does not share, or all of them if it stops early."""
        if (previous is not None
                and (following is not previous or self.result.shouldStop)
                and _has_shared_fixtures(previous)):
            self.checker.end_group()


class _WatchedResult:
    """The runner's RESULT as SUITE hands it to its tests: all of it, and
    its startTest() tells the suite first.  The suite's own bookkeeping
    (the class and module that ran last) is kept here, apart."""

    def __init__(self, result, suite):
        self._wrapped = result
        self._suite = suite

    def __getattr__(self, name):
        return getattr(self._wrapped, name)

    def startTest(self, test):
        self._suite.started(test)
        self._wrapped.startTest(test)


class _Running:
    """A test between its _begin() and its _end()."""

    def __init__(self, test_id, spare, counts):
        self.test_id = test_id
        self.spare = spare
        self.counts = counts


def _begin(checker, test, result):
    spare = _spare_instance(test)
    test_id = test.id()
    checker.begin(test_id)
    return _Running(test_id, spare, _counts(result))


def _end(checker, running, result, rerun):
    """RUNNING's test returned: its outcome, read from RESULT, and a leak
    search when one is due.  RERUN() runs it again."""
    checker.end(running.test_id, _outcome(running.counts, _counts(result)),
                rerun)
    if checker.search_due():
        checker.end_group()


def _rerun(spare):
    spare(unittest.TestResult())


def install(checker):
    """Run every test case of the process between CHECKER's markers, as
    CheckedSuite does, for suites that regrtest builds and runs itself."""
    call = unittest.TestCase.__call__
    tear_down_previous_class = unittest.TestSuite._tearDownPreviousClass
    rerunning = False

    def checked_call(self, result=None, *args, **kwargs):
        if rerunning or result is None:
            return call(self, result, *args, **kwargs)
        running = _begin(checker, self, result)
        value = call(self, result, *args, **kwargs)
        _end(checker, running, result, lambda: rerun(running.spare))
        return value

    def rerun(spare):
        nonlocal rerunning
        rerunning = True
        try:
            _rerun(spare)
        finally:
            rerunning = False

    def checked_tear_down_previous_class(self, test, result):
        previous = getattr(result, "_previousTestClass", None)
        if (previous is not None and previous is not type(test)
                and _has_shared_fixtures(previous)):
            checker.end_group()
        return tear_down_previous_class(self, test, result)

    unittest.TestCase.__call__ = checked_call
    suite = unittest.TestSuite
    suite._tearDownPreviousClass = checked_tear_down_previous_class


def _spare_instance(test):
    """A fresh instance of TEST's case, for a re-run.

    A suite drops each test case once it has run, and with it what the
    test stored on self.  Keeping the case that ran until its group is
    searched would keep those objects alive, and the search would judge
    them while a suite never holds them: memory that Memcheck cannot follow
    (a pointer in a packed C struct) then looks lost.  A case whose class
    cannot be made again from its method name is re-run itself."""
    try:
        return type(test)(test._testMethodName)
    except Exception:
        return test


def unit(test):
    """The unit of TEST for -jN (memcheck.select()): its class when the
    class or its module sets up fixtures that its tests share, else the
    test alone."""
    cls = type(test)
    if _has_shared_fixtures(cls):
        return f"{cls.__module__}.{cls.__qualname__}"
    return test.id()


def _has_shared_fixtures(cls):
    """Whether CLS, or its module, sets up fixtures that its tests share
    (a class without them can have its tests run again at any time)."""
    for name in ("setUpClass", "tearDownClass"):
        own = getattr(getattr(cls, name, None), "__func__", None)
        if own is not getattr(unittest.TestCase, name).__func__:
            return True
    module = sys.modules.get(cls.__module__)
    return any(hasattr(module, name)
               for name in ("setUpModule", "tearDownModule"))


def _counts(result):
    return tuple(len(getattr(result, name, ())) for name in
                 ("failures", "errors", "skipped", "unexpectedSuccesses"))


def _outcome(before, after):
    grew = [b != a for b, a in zip(before, after)]
    if grew[1]:
        return "error"
    if grew[0] or grew[3]:
        return "failed"
    if grew[2]:
        return "skipped"
    return "passed"
