"""make check: the project's test suites, then CPython's own tests on the
patched build.  Run by build/python.  Ends with one line: N passed, N failed.

  build/python tests/run.py [--quick]     --quick skips CPython's tests
"""

import concurrent.futures
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

import support

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
PYTHON = os.path.join(TOP, "build", "python")

# CPython's tests that exercise what the series touches.  Not under Valgrind.
CPYTHON_TESTS = ["test_valgrind", "test_capi", "test_embed", "test_gc",
                 "test_sys", "test_tracemalloc", "test_cmd_line",
                 "test_regrtest"]



def run_suite(module):
    """Run one tests/test_*.py in a child process; return (passed, failed,
    output)."""
    code = ("import sys, unittest; sys.path.insert(0, %r); "
            "r = unittest.main(module=%r, exit=False, verbosity=2).result; "
            "print('RESULT', r.testsRun - len(r.failures) - len(r.errors) "
            "- len(r.unexpectedSuccesses), len(r.failures) + len(r.errors) "
            "+ len(r.unexpectedSuccesses))" % (HERE, module))
    proc = subprocess.run([PYTHON, "-c", code], cwd=HERE,
                          capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            _, passed, failed = line.split()
            return int(passed), int(failed), out
    return 0, 1, out


def run_cpython_tests():
    env = {k: v for k, v in os.environ.items()
           if k not in support.UNSET_FOR_CPYTHON_TESTS}
    with tempfile.TemporaryDirectory() as tmp:
        junit = os.path.join(tmp, "junit.xml")
        cmd = [PYTHON, "-m", "test", "-j%d" % (os.cpu_count() or 2),
               "--junit-xml", junit] + CPYTHON_TESTS
        print("$", " ".join(cmd[1:]), flush=True)
        proc = subprocess.run(cmd, env=env)
        if not os.path.exists(junit):
            return 0, 1
        cases = ET.parse(junit).getroot().iter("testcase")
        passed = failed = skipped = 0
        for case in cases:
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
        if proc.returncode != 0 and failed == 0:
            failed = 1      # a crash or a worker failure outside any test case
        return passed, failed, skipped


def main():
    quick = "--quick" in sys.argv
    modules = sorted(f[:-3] for f in os.listdir(HERE)
                     if f.startswith("test_") and f.endswith(".py"))
    passed = failed = skipped = 0
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        for module, (p, f, out) in zip(modules, pool.map(run_suite, modules)):
            status = "ok" if f == 0 else "FAILED"
            print("tests/%s.py: %d passed, %d failed: %s" % (module, p, f, status),
                  flush=True)
            if f:
                print(out)
            passed += p
            failed += f
    if not quick:
        p, f, skipped = run_cpython_tests()
        print("CPython tests (%s): %d passed, %d failed, %d skipped"
              % (" ".join(CPYTHON_TESTS), p, f, skipped))
        passed += p
        failed += f
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
