"""The per-test protocol, inside the process that runs under Memcheck.

For each test: a warm-up run, a leak search that absorbs what it left, then
the checked run and a second leak search.  Markers written into the Valgrind
log (JSON after memcheck.MARKER) delimit each run, so that the driver can
tell which test each Memcheck report belongs to; the end marker also carries
the counts measured in the process.
"""

import json

import _valgrind

from . import MARKER


def mark(event, **fields):
    _valgrind.marker(MARKER + json.dumps({"event": event, **fields}))


class Checker:
    def __init__(self, warmup=True):
        self.warmup = warmup

    def start_session(self):
        _valgrind.leak_check()
        mark("session-start", tool=_valgrind.tool(), mode=_valgrind.mode())

    def end_session(self):
        mark("session-end")

    def run_test(self, test_id, run):
        """RUN(checked) runs the test once and returns its outcome
        ('passed', 'failed', 'error', 'skipped', ...); CHECKED is False for
        the warm-up run, whose outcome is not reported."""
        errors = 0
        if self.warmup:
            mark("begin", test=test_id, phase="warmup")
            before = _valgrind.count_errors()
            run(False)
            errors += _valgrind.count_errors() - before
            _valgrind.leak_check()
        mark("begin", test=test_id, phase="run")
        before = _valgrind.count_errors()
        outcome = run(True)
        errors += _valgrind.count_errors() - before
        leaks = _valgrind.leak_check()
        mark("end", test=test_id, outcome=outcome, errors=errors,
             leaked=leaks.leaked, leaked_blocks=leaks.leaked_blocks)
        return outcome
