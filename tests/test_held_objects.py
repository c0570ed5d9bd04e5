"""Correct code that keeps Python objects alive from C gets no report:
objects held only by an extension's C static variables (interior pointers
past the GC header) and CPython's subclass registries of heap types
(tests/heldobjects/heldobjects.c), in malloc and pool modes."""

import os
import unittest

import support

SOURCE = os.path.join(support.TOP, "tests", "heldobjects", "heldobjects.c")
PROGRAM = ("import heldobjects; heldobjects.hold_in_statics(); "
           "heldobjects.heap_types_with_heap_bases()")


class HeldFromC(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ext_dir = support.build_extension(SOURCE, "heldobjects")

    def check(self, mode):
        proc, errors = support.valgrind(
            ["-c", PROGRAM], options=support.MEMCHECK_GATE,
            env={"PYTHONPATH": self.ext_dir, "PYTHONVALGRIND": mode})
        self.assertEqual(errors, [])
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])

    def test_malloc_mode(self):
        self.check("malloc")

    def test_pool_mode(self):
        self.check("pool")


if __name__ == "__main__":
    unittest.main()
