"""unittest under the per-test checker (memcheck.checker), for "python -m
memcheck unittest" and regrtest's --valgrind alike.

Two hooks, installed in the process under Memcheck:

- TestCase.__call__, through which a suite runs each test case: markers
  around it, its outcome read from the result, and a leak search when one
  is due;
- TestSuite._tearDownPreviousClass, which a suite calls before a test of
  another class (and at its end): if the class or its module has fixtures
  of its own (setUpClass, setUpModule, ...), the group is searched first,
  while they are still up, so that re-runs of its tests (a test case
  called again with a throwaway result) find them.
"""

import sys
import unittest


def install(checker):
    call = unittest.TestCase.__call__
    tear_down_previous_class = unittest.TestSuite._tearDownPreviousClass
    rerunning = False

    def checked_call(self, result=None, *args, **kwargs):
        if rerunning or result is None:
            return call(self, result, *args, **kwargs)
        test_id = self.id()
        spare = _spare_instance(self)
        checker.begin(test_id)
        before = _counts(result)
        value = call(self, result, *args, **kwargs)

        def rerun():
            nonlocal rerunning
            rerunning = True
            try:
                call(spare, unittest.TestResult())
            finally:
                rerunning = False

        checker.end(test_id, _outcome(before, _counts(result)), rerun)
        if checker.search_due():
            checker.end_group()
        return value

    def checked_tear_down_previous_class(self, test, result):
        previous = getattr(result, "_previousTestClass", None)
        if (previous is not None and previous is not type(test)
                and _has_shared_fixtures(previous)):
            checker.end_group()
        return tear_down_previous_class(self, test, result)

    unittest.TestCase.__call__ = checked_call
    unittest.TestSuite._tearDownPreviousClass = checked_tear_down_previous_class


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
