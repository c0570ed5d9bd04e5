"""Correct code that keeps Python objects alive from C gets no report:
objects held only by an extension's C static variables (interior pointers
past the GC header) and CPython's subclass registries of heap types
(tests/heldobjects/heldobjects.c), in malloc and pool modes; and a C static
that names an unreadable page does not crash the exit walk."""

import os
import unittest

import support

SOURCE = os.path.join(support.TOP, "tests", "heldobjects", "heldobjects.c")
PROGRAM = ("import heldobjects; heldobjects.hold_in_statics(); "
           "heldobjects.heap_types_with_heap_bases()")


class SilentInBothModes:
    """PROGRAM passes the leak-gating command with no report, in malloc
    and pool mode (ENV added to the environment)."""
    program = None
    env = {}

    def check(self, mode):
        proc, errors = support.valgrind(
            ["-c", self.program], options=support.MEMCHECK_GATE,
            env={**self.env, "PYTHONVALGRIND": mode})
        self.assertEqual(errors, [])
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])

    def test_malloc_mode(self):
        self.check("malloc")

    def test_pool_mode(self):
        self.check("pool")


class HeldFromC(SilentInBothModes, unittest.TestCase):
    program = PROGRAM

    @classmethod
    def setUpClass(cls):
        cls.env = {"PYTHONPATH": support.build_extension(SOURCE,
                                                         "heldobjects")}


# A page made inaccessible after it was mapped, which Memcheck still calls
# addressable (it does not follow mprotect()), named by a C static
# (PyOS_InputHook, unused by a script): the exit walk's scan of static data
# must not read it.  It did, and the process died of SIGSEGV at exit
# (test___all__ with -uall, whose imports leave such a word).
UNREADABLE_PAGE_PROGRAM = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                      ctypes.c_int, ctypes.c_int, ctypes.c_long]
page = libc.mmap(None, 4096, 3, 0x22, -1, 0)    # read-write, anonymous
assert page not in (None, 2**64 - 1), ctypes.get_errno()
assert libc.mprotect(ctypes.c_void_p(page), 4096, 0) == 0  # PROT_NONE
ctypes.c_void_p.in_dll(ctypes.pythonapi, "PyOS_InputHook").value = page
"""


class StaticNamesAnUnreadablePage(SilentInBothModes, unittest.TestCase):
    program = UNREADABLE_PAGE_PROGRAM


if __name__ == "__main__":
    unittest.main()
