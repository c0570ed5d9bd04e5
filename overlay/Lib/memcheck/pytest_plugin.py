"""pytest plugin of "python -m memcheck pytest".

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
"""

import pytest

_share = None           # memcheck._child.Share: which tests run here
_checker = None
_reports = {}           # node id -> its reports, while it runs
_rerun_next = None      # (session, the test that comes after the re-runs)
_last_item = None       # the test that ran last
_dealt = None           # with -jN: the tests this process runs, as dealt


def configure(share):
    global _share, _checker
    _share, _checker = share, share.checker


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    if _checker is None:
        return
    global _dealt
    units = [_unit(item) for item in items]
    chosen = _share.choose(units)
    if not isinstance(chosen, list):
        # -jN: the tests come as they are dealt (pytest_runtestloop).
        _dealt = (items[i] for i in chosen)
        return
    chosen = set(chosen)
    deselected = [item for i, item in enumerate(items) if i not in chosen]
    items[:] = [item for i, item in enumerate(items) if i in chosen]
    if deselected:
        config.hook.pytest_deselected(items=deselected)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    """With -jN, pytest's own loop over the tests, over those dealt to this
    process: each runs with the next one as its nextitem, so that the
    fixtures that the next needs stay up and the others go."""
    if (_dealt is None or session.testsfailed
            or session.config.option.collectonly):
        return None     # pytest's loop (it stops on collection errors)
    item = next(_dealt, None)
    while item is not None:
        nextitem = next(_dealt, None)
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)
        item = nextitem
    return True


# The node that holds the tests sharing a fixture of each scope: a process
# of -jN that runs one of them runs them all, so that the fixture is set up
# once there, as plain pytest does.  Session fixtures are set up once in
# each process.
SHARED_SCOPES = (("package", pytest.Package), ("module", pytest.Module),
                 ("class", pytest.Class))


def _unit(item):
    """The unit of ITEM for -jN (memcheck.select()): the node of the widest
    class, module or package fixture it uses (xunit setup_module() and
    setup_class(), and unittest's setUpClass(), are such fixtures), else
    the test alone.  An item that is not a test function stays with the
    tests of its parent."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return item.parent.nodeid
    scopes = {getattr(defs[-1], "scope", None)
              for defs in info.name2fixturedefs.values() if defs}
    for scope, node_type in SHARED_SCOPES:
        if scope in scopes:
            node = item.getparent(node_type)
            # A package fixture without a package (no __init__.py) is
            # shared by all: one unit.
            return node.nodeid if node is not None else ""
    return item.nodeid


def pytest_runtest_logreport(report):
    _reports.setdefault(report.nodeid, []).append(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if _checker is None:
        yield
        return
    if nextitem is None:
        # After the last test pytest tears down the session's fixtures:
        # search before it, so that re-runs of the group find them up.
        _end_group(item.session, item)
    global _last_item
    _checker.begin(item.nodeid)
    yield
    _last_item = item
    _checker.end(item.nodeid, _outcome(_reports.pop(item.nodeid, [])),
                 None if nextitem is None else lambda: _rerun(item))
    if nextitem is None or _checker.search_due():
        _end_group(item.session, nextitem)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    # A run that stopped early (-x, an interrupt) left its last group
    # unsearched, and the fixtures of its last test up: pytest tears them
    # down after this hook.
    if _checker is not None and _last_item is not None:
        _end_group(session, _last_item)


def _end_group(session, nextitem):
    global _rerun_next
    _rerun_next = (session, nextitem)
    _checker.end_group()


def _rerun(item):
    from _pytest.runner import runtestprotocol
    session, nextitem = _rerun_next
    # Tear down what ITEM does not share with the test that ran last (a
    # class or module of its own), then run it, then tear down what
    # NEXTITEM does not need: its normal setup finds what it expects.
    session._setupstate.teardown_exact(item)
    runtestprotocol(item, log=False, nextitem=nextitem)


def _outcome(reports):
    for report in reports:
        if report.failed:
            return "failed" if report.when == "call" else "error"
    if any(report.skipped for report in reports):
        return "skipped"
    return "passed"
