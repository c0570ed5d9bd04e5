"""The process under Memcheck: run a unittest or pytest suite through the
per-test checker.  Started by "python -m memcheck"; its settings come in the
environment variable named by CONFIG_ENV (JSON)."""

import json
import os
import sys
import unittest

from . import select
from .checker import Checker

CONFIG_ENV = "_PYTHON_MEMCHECK_CHILD"


def run_unittest(argv, checker, shard, job):
    from . import unittest_checker

    class CheckedProgram(unittest.TestProgram):
        def runTests(self):
            tests = list(_flatten(self.test))
            units = [f"{type(t).__module__}.{type(t).__qualname__}"
                     for t in tests]
            tests = [tests[i] for i in select(units, shard, job)]
            checker.start_tests(len(tests))
            self.test = unittest.TestSuite(tests)
            unittest_checker.install(checker)
            super().runTests()

    CheckedProgram(module=None, argv=["python -m unittest", *argv])


def _flatten(suite):
    if isinstance(suite, unittest.TestSuite):
        for test in suite:
            yield from _flatten(test)
    else:
        yield suite


def run_pytest(argv, checker, shard, job):
    import pytest
    from . import pytest_plugin
    pytest_plugin.configure(checker, shard, job)
    return pytest.main(argv, plugins=[pytest_plugin])


def main():
    config = json.loads(os.environ.pop(CONFIG_ENV))
    framework, argv = sys.argv[1], sys.argv[2:]
    shard = tuple(config["shard"]) if config["shard"] else None
    job = tuple(config["job"]) if config["job"] else None
    checker = Checker(progress_file=config["progress"],
                      xml_file=config["xml"])
    checker.start_session()
    status = 0
    try:
        if framework == "unittest":
            run_unittest(argv, checker, shard, job)
        else:
            status = run_pytest(argv, checker, shard, job)
    except SystemExit as exc:
        status = exc.code
    finally:
        checker.end_session()
    sys.exit(status)


if __name__ == "__main__":
    main()
