"""A fixed sample of Cython's own runtime tests, translated by the Cython of
extensions.conf, compiled with plain gcc for an interpreter and run as
Cython's runtests.py runs them: a test_*.pyx by its unittest cases, any
other file by its doctests.

    PYTHON tests/realext/cython_run_tests.py [--python PYTHON] [FILE ...]
        build the sample (or the FILEs named, e.g. run/generators.pyx) for
        PYTHON (default: build/python), then run it in PYTHON: a line per
        file, "ok" or "FAILED", and a count; exit status 1 if one failed
    PYTHON tests/realext/cython_run_tests.py --build-only [--python PYTHON]
        build only; print the directory of the modules
    PYTHON tests/realext/cython_run_tests.py --no-build [FILE ...]
        run only, in PYTHON itself (built before: under Valgrind, the
        translation would take most of an hour)
    PYTHON -m unittest cython_run_tests    (or python -m memcheck unittest)
        the same tests as unittest cases (load_tests), with tests/realext
        and the module directory on PYTHONPATH: a verdict per doctest

As runtests.py: language level 2 unless the file sets one, the directive
autotestdict=False, -DCYTHON_CLINE_IN_TRACEBACK=1, the file's directory
searched for .pxd and .h files.  The modules of each interpreter are side by
side in build/realext/cython-run/ (their EXT_SUFFIX differs); the generated
C is shared.
"""

import argparse
import doctest
import importlib
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import build as realext  # tests/realext/build.py  # noqa: E402

# Its name in tests/test_real_extensions.py, and its directory.
NAME = "cython-run"
OUT = os.path.join(realext.TOP, "build", "realext", NAME)

# The sample: files of Cython's tests/ directory, each a module of its own.
# Chosen among the ones whose tests pass natively on build/python and
# build/python-ft, for the shapes that extensions have: 34 files, 512
# doctests.
SAMPLE = [
    # Python classes, metaclasses, class bodies, special methods.
    "run/classmethod.pyx",
    "run/metaclass.pyx",
    "run/pyclass_special_methods.pyx",
    "run/subclasses.pyx",
    # Closures and lambdas: cells, closures over closures, in classes.
    "run/closure_tests_1.pyx",
    "run/closure_tests_2.pyx",
    "run/closure_decorators_T478.pyx",
    "run/closures_T82.pyx",
    "run/lambda_tests.pyx",
    # Generators, generator expressions, coroutines.
    "run/generators.pyx",
    "run/generators_in_refcycles.pyx",
    "run/generator_expressions_nested.pyx",
    "run/yield_from_pep380.pyx",
    "run/async_def.pyx",
    # Exceptions: raising, catching, chaining, finally, refcounts.
    "run/exceptionpropagation.pyx",
    "run/exceptionrefcount.pyx",
    "run/tryexcept.pyx",
    "run/tryfinally.pyx",
    "run/funcexceptreraise.pyx",
    # cdef classes with object fields, their GC, deallocation, freelists,
    # properties, pickling, inheritance.
    "run/cdef_class_field.pyx",
    "run/exttype_gc.pyx",
    "run/exttype_dealloc.pyx",
    "run/exttype_freelist.pyx",
    "run/cyclic_gc.pyx",
    "run/cdef_members_T517.pyx",
    "run/cdef_class_property_decorator_T264.pyx",
    "run/reduce_pickle.pyx",
    # Module-level globals.
    "run/moduletryexcept.pyx",
    "run/ass2global.py",
    # Memoryviews: slicing, copying, acquisition counts, cython.view.array.
    "memoryview/memoryview.pyx",
    "memoryview/memslice.pyx",
    "memoryview/cythonarray.pyx",
    "memoryview/memoryview_in_subclasses.pyx",
    "memoryview/transpose_refcount.pyx",
]


def module_name(path):
    return os.path.splitext(os.path.basename(path))[0]


def build(python=realext.DEFAULT_PYTHON, files=SAMPLE):
    """Translate and compile FILES for PYTHON into OUT; return OUT."""
    import concurrent.futures
    cython_tree = realext.fetch(realext.CYTHON)
    tests = os.path.join(cython_tree, "tests")
    config = realext.interpreter_config(python)
    os.makedirs(OUT, exist_ok=True)

    def build_one(path):
        source = os.path.join(tests, path)
        directory = os.path.dirname(source)
        generated = realext.cythonize(
            python, cython_tree, source,
            directives=["autotestdict=False"],
            include=[directory, os.path.join(tests, "testsupport")],
            options=["-2"],
            output=os.path.join(OUT, module_name(path) + ".c"))
        realext.compile_module(
            python, config, [generated],
            os.path.join(OUT, module_name(path) + config[2]),
            defines=["CYTHON_CLINE_IN_TRACEBACK=1"], include=[directory])

    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        for future in [pool.submit(build_one, path) for path in files]:
            future.result()
    return OUT


def suite_of(path):
    """The tests of one file of the sample, as runtests.py makes them."""
    module = importlib.import_module(module_name(path))
    if module.__name__.startswith("test_"):
        return unittest.defaultTestLoader.loadTestsFromModule(module)
    return doctest.DocTestSuite(module)


def load_tests(loader, tests, pattern):
    """unittest's protocol: every file of the sample (built before)."""
    if OUT not in sys.path:
        sys.path.insert(0, OUT)
    suite = unittest.TestSuite()
    for path in SAMPLE:
        suite.addTest(suite_of(path))
    return suite


def run(files=SAMPLE):
    """Run FILES in this interpreter; print a line per file; return the
    number that failed."""
    if OUT not in sys.path:
        sys.path.insert(0, OUT)
    failed = 0
    for path in files:
        start = time.monotonic()
        result = unittest.TestResult()
        try:
            suite = suite_of(path)
            suite.run(result)
            problems = result.failures + result.errors
        except Exception as e:          # the import failed
            problems = [(path, "%s: %s" % (type(e).__name__, e))]
        status = "FAILED" if problems or not result.testsRun else "ok"
        failed += status != "ok"
        print("%-6s %s: %d tests, %.1f s" % (status, path, result.testsRun,
                                             time.monotonic() - start),
              flush=True)
        for test, text in problems:
            print("    %s\n%s" % (test, "\n".join(
                "      " + line for line in text.splitlines()[-20:])))
    print("cython_run_tests: %d of %d files passed"
          % (len(files) - failed, len(files)), flush=True)
    return failed


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", default=SAMPLE,
                        help="files of Cython's tests/ (default: the sample)")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter to build for "
                        "(default: this one, %(default)s)")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--build-only", action="store_true")
    how.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        try:
            out = build(args.python, args.files)
        except realext.FetchError as e:
            sys.exit(str(e))
        if args.build_only:
            print(out)
            return 0
    if os.path.realpath(args.python) != os.path.realpath(sys.executable):
        sys.exit("cython_run_tests: built for %s; run it with that "
                 "interpreter" % args.python)
    return 1 if run(args.files) else 0


if __name__ == "__main__":
    sys.exit(main())
