"""pytest plugin of "python -m memcheck pytest": each test item runs through
the per-test checker (warm-up run, then checked run and leak search)."""

import pytest
from _pytest.runner import runtestprotocol

from . import in_shard

_checker = None
_shard = None


def configure(checker, shard):
    global _checker, _shard
    _checker, _shard = checker, shard


def pytest_collection_modifyitems(config, items):
    if _shard is None:
        return
    kept = [item for i, item in enumerate(items) if in_shard(i, _shard)]
    deselected = [item for item in items if item not in kept]
    items[:] = kept
    if deselected:
        config.hook.pytest_deselected(items=deselected)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    if _checker is None:
        return None
    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)

    def run(checked):
        # The warm-up run reports nothing and tears every fixture down, so
        # that the checked run starts from the same state as without it.
        reports = runtestprotocol(item, log=checked,
                                  nextitem=nextitem if checked else None)
        return _outcome(reports)

    _checker.run_test(item.nodeid, run)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def _outcome(reports):
    for report in reports:
        if report.failed:
            return "failed" if report.when == "call" else "error"
    if any(report.skipped for report in reports):
        return "skipped"
    return "passed"
