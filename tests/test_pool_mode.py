"""Pool mode (PYTHONVALGRIND=pool) specifics: pymalloc kept under Memcheck,
its blocks announced one by one, its arenas taken from malloc() so that
leaks classify as they do under malloc()."""

import os
import subprocess
import unittest

import support

ARENA_ROOTS = os.path.join(support.TOP, "tests", "arenaroots", "arena_roots.c")
SEEDED = os.path.join(support.TOP, "tests", "seededbugs", "seededbugs.c")
POOL = {"PYTHONVALGRIND": "pool"}
ALL_LEAKS = ["--leak-check=full", "--show-leak-kinds=all", "--num-callers=30"]


class ArenaRoots(unittest.TestCase):
    """Memcheck's leak search on blocks announced inside an arena, for the
    two ways of getting the arena (tests/arenaroots/arena_roots.c)."""

    @classmethod
    def setUpClass(cls):
        os.makedirs(support.EXT_DIR, exist_ok=True)
        cls.program = os.path.join(support.EXT_DIR, "arena_roots")
        subprocess.run(["gcc", "-O0", "-g", "-Wall", "-Werror", ARENA_ROOTS,
                        "-o", cls.program], check=True)

    def kinds(self, how):
        proc, errors = support.valgrind([how], options=ALL_LEAKS,
                                        python=self.program)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return sorted(e.kind for e in errors
                      if "leak_two_linked_blocks" in e.functions)

    def test_arena_from_malloc_reports_the_whole_structure(self):
        self.assertEqual(self.kinds("malloc"),
                         ["Leak_DefinitelyLost", "Leak_IndirectlyLost"])

    def test_mapped_arena_hides_what_the_leaked_block_points_to(self):
        # The mapping is a root: the second block reads "still reachable".
        self.assertEqual(self.kinds("mmap"),
                         ["Leak_DefinitelyLost", "Leak_StillReachable"])


class PoolLeaks(unittest.TestCase):
    """Leaks of pymalloc blocks in pool mode, every leak kind shown."""

    @classmethod
    def setUpClass(cls):
        ext_dir = support.build_extension(SEEDED, "seededbugs")
        script = ("import seededbugs, _valgrind; print(_valgrind.mode()); "
                  "seededbugs.bug_leak_container(); seededbugs.bug_leak_pymem()")
        cls.proc, cls.errors = support.valgrind(
            ["-c", script], options=ALL_LEAKS, env=dict(POOL, PYTHONPATH=ext_dir))

    def records(self, function):
        return [e for e in self.errors if function in e.functions]

    def test_runs_in_pool_mode(self):
        self.assertEqual(self.proc.stdout.split(), ["pool"])

    def test_leaked_container_and_its_contents(self):
        kinds = {e.kind for e in self.records("bug_leak_container")}
        self.assertEqual(kinds, {"Leak_DefinitelyLost", "Leak_IndirectlyLost"})

    def test_blocks_are_pymallocs(self):
        # Announced by pool mode, not allocated by the C library.
        record, = self.records("bug_leak_pymem")
        self.assertEqual(record.kind, "Leak_DefinitelyLost")
        self.assertTrue(record.functions[0].startswith("pool_alloc"), record)
        self.assertNotIn("malloc", record.functions)

    def test_arenas_are_left_out_of_the_leak_search(self):
        # Not even "still reachable": an arena holding announced blocks is
        # not a block of its own for the leak search, nor a root.
        self.assertEqual(self.records("pool_arena_alloc"), [])
        self.assertEqual(self.records("_PyMem_ArenaAlloc"), [])


class SubinterpreterEnd(unittest.TestCase):
    """A subinterpreter that ends keeps reachable its own objects only.
    Were it to keep the main interpreter's (here, lists that a class's
    module holds), their blocks, freed later and taken again by objects
    that leak, would read "still reachable" at exit, and walking a running
    interpreter's objects reads its frames and lists half-built."""

    SCRIPT = """if True:
        import _testcapi, seededbugs
        class Holder:
            def method(self):
                return held
        held = [[] for _ in range(200)]
        assert _testcapi.run_in_subinterp("x = [[] for _ in range(50)]") == 0
        del held
        for _ in range(200):
            seededbugs.bug_leak_list()
        """

    def test_leaks_after_it_are_reported(self):
        ext_dir = support.build_extension(SEEDED, "seededbugs")
        proc, errors = support.valgrind(
            ["-c", self.SCRIPT], options=support.MEMCHECK_GATE,
            env=dict(POOL, PYTHONPATH=ext_dir))
        self.assertEqual(proc.returncode, 99, proc.stderr[-3000:])
        leaks = [e for e in errors if "bug_leak_list" in e.functions]
        self.assertEqual({e.kind for e in leaks}, {"Leak_DefinitelyLost"},
                         errors)
        self.assertEqual(sum(e.blocks for e in leaks), 200, leaks)
        self.assertEqual([e for e in errors if e not in leaks], [])


class PoolUnderDebugHooks(unittest.TestCase):
    def test_no_memory_error_under_the_debug_hooks(self):
        # The hooks wrap pool mode's functions, and write their own header
        # and padding around each block.  (Leaks are not checked: the
        # hooks hand out pointers past their header, interior pointers for
        # Memcheck, as in malloc mode.)
        proc, errors = support.valgrind(
            ["-c", "import _valgrind, json; json.loads(json.dumps("
                   "[str(i) for i in range(2000)])); print(_valgrind.mode())"],
            env=dict(POOL, PYTHONMALLOC="debug"))
        errors = [e for e in errors if not e.is_leak]
        self.assertEqual(errors, [], errors)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(proc.stdout.split(), ["pool"])


if __name__ == "__main__":
    unittest.main()
