"""pytest plugin of "python -m memcheck pytest": a Plugin object, which
memcheck._child registers through pytest.main(plugins=...), its state in
its attributes.

Each test runs once, through pytest's own protocol: fixtures of every scope
are set up and torn down as without the plugin.  The plugin only wraps the
protocol (markers before and after, a leak search when one is due) and
reads the outcome from the reports.

Narrowing a leaking group down re-runs its tests (memcheck.checker).  A
re-run goes through pytest's re-run entry point, runtestprotocol() with
log=False (as pytest-rerunfailures does): no report, the test's own
function fixtures, and its class and module fixtures set up again only if
they were already gone.  Fixtures that the next test needs stay up: the
session's are never set up twice.

pytest offers no public interface for three things the plugin needs: the
scopes of the fixtures a test uses, at collection (Item._fixtureinfo),
running a test again (_pytest.runner.runtestprotocol) and tearing down the
fixtures a re-run test does not share (Session._setupstate).
"""

import pytest

# The node that holds the tests sharing a fixture of each scope: a process
# of -jN that runs one of them runs them all, so that the fixture is set up
# once there, as plain pytest does.  Session fixtures are set up once in
# each process.
SHARED_SCOPES = (("package", pytest.Package), ("module", pytest.Module),
                 ("class", pytest.Class))


class Plugin:
    """The per-test checker (memcheck.checker) on pytest's hooks, for the
    tests that SHARE (memcheck._child.Share) says this process runs."""

    def __init__(self, share):
        self.share = share
        self.checker = share.checker
        self.reports = {}       # node id -> its reports, while it runs
        self.dealt = None       # with -jN: the tests run here, as dealt
        self.last_item = None   # the test that ran last
        self.rerun_next = None  # the test that comes after the re-runs

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        units = [_unit(item) for item in items]
        chosen = self.share.choose(units)
        if not isinstance(chosen, list):
            # -jN: the tests come as they are dealt (pytest_runtestloop).
            self.dealt = (items[i] for i in chosen)
            return
        chosen = set(chosen)
        deselected = [item for i, item in enumerate(items) if i not in chosen]
        items[:] = [item for i, item in enumerate(items) if i in chosen]
        if deselected:
            config.hook.pytest_deselected(items=deselected)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        """With -jN, pytest's own loop over the tests, over those dealt to
        this process: each runs with the next one as its nextitem, so that
        the fixtures that the next needs stay up and the others go."""
        if (self.dealt is None or session.testsfailed
                or session.config.option.collectonly):
            return None     # pytest's loop (it stops on collection errors)
        item = next(self.dealt, None)
        while item is not None:
            nextitem = next(self.dealt, None)
            item.config.hook.pytest_runtest_protocol(item=item,
                                                     nextitem=nextitem)
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
            item = nextitem
        return True

    def pytest_runtest_logreport(self, report):
        self.reports.setdefault(report.nodeid, []).append(report)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        if nextitem is None:
            # After the last test pytest tears down the session's
            # fixtures: search before it, so that re-runs of the group
            # find them up.
            self._end_group(item)
        self.checker.begin(item.nodeid)
        yield
        self.last_item = item
        self.checker.end(item.nodeid,
                         _outcome(self.reports.pop(item.nodeid, [])),
                         None if nextitem is None
                         else lambda: self._rerun(item))
        if nextitem is None or self.checker.search_due():
            self._end_group(nextitem)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session):
        # A run that stopped early (-x, an interrupt) left its last group
        # unsearched, and the fixtures of its last test up: pytest tears
        # them down after this hook.
        if self.last_item is not None:
            self._end_group(self.last_item)

    def _end_group(self, nextitem):
        """Search now; re-runs leave the fixtures up that NEXTITEM needs."""
        self.rerun_next = nextitem
        self.checker.end_group()

    def _rerun(self, item):
        from _pytest.runner import runtestprotocol
        # Tear down what ITEM does not share with the test that ran last (a
        # class or module of its own), then run it, then tear down what
        # the next test does not need: its normal setup finds what it
        # expects.
        item.session._setupstate.teardown_exact(item)
        runtestprotocol(item, log=False, nextitem=self.rerun_next)


def _unit(item):
    """The unit of ITEM for -jN (memcheck.select()): the node of the widest
    class, module or package fixture it uses (xunit setup_module() and
    setup_class(), and unittest's setUpClass(), are such fixtures), else
    the test alone.  An item that is not a test function stays with the
    tests of its parent; so does a test whose fixtures' scopes cannot be
    read (Item._fixtureinfo, pytest's own, is gone): its module's, at
    worst, stay in one process."""
    names = getattr(item, "fixturenames", None)
    if names is None:
        return item.parent.nodeid
    scopes = _fixture_scopes(item, names)
    if scopes is None:
        return (item.getparent(pytest.Module) or item.parent).nodeid
    for scope, node_type in SHARED_SCOPES:
        if scope in scopes:
            node = item.getparent(node_type)
            # A package fixture without a package (no __init__.py) is
            # shared by all: one unit.
            return node.nodeid if node is not None else ""
    return item.nodeid


def _fixture_scopes(item, names):
    """The scopes of the fixtures named NAMES (Item.fixturenames) that ITEM
    uses, or None if pytest does not tell."""
    defs = getattr(getattr(item, "_fixtureinfo", None),
                   "name2fixturedefs", None)
    if defs is None:
        return None
    return {getattr(defs[name][-1], "scope", None)
            for name in names if defs.get(name)}


def _outcome(reports):
    for report in reports:
        if report.failed:
            return "failed" if report.when == "call" else "error"
    if any(report.skipped for report in reports):
        return "skipped"
    return "passed"
