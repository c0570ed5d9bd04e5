"""Correct code that keeps Python objects alive from C gets no report:
objects held only by an extension's C static variables, by a C struct in
PyMem_Malloc() memory, by a code object (not a GC object), an instance's
dict held only by its pre-header, and CPython's subclass registries of heap
types (tests/heldobjects/heldobjects.c), in malloc and pool modes; and a C
static that names an unreadable page does no harm.  A leaked instance with
its dict is still reported.  Under the tools that check no leaks, nothing
of it runs: no client request of Memcheck's reaches them."""

import os
import unittest

import support

SOURCE = os.path.join(support.TOP, "tests", "heldobjects", "heldobjects.c")
PROGRAM = ("import heldobjects; heldobjects.hold_in_statics(); "
           "heldobjects.heap_types_with_heap_bases(); "
           "heldobjects.hold_in_heap_struct(); "
           "heldobjects.hold_code_object(); "
           "heldobjects.hold_instance_dict()")


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

    def test_other_tools_get_no_request(self):
        # Helgrind and DRD check no leaks: nothing is announced, kept or
        # walked, and the program runs with no report.  DHAT prints a
        # warning for each client request it does not know.
        for tool in ("helgrind", "drd", "dhat"):
            with self.subTest(tool):
                proc, errors = support.valgrind(["-c", self.program],
                                                tool=tool, env=self.env)
                self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
                self.assertNotIn("client request", proc.stderr)
                # -q: Valgrind prints nothing but errors and warnings.
                self.assertEqual(proc.stderr.strip(), "")


# An instance whose dict was asked for, leaked (a reference never
# released): reported as lost, with its dict and list counted in the record.
LEAKED_INSTANCE_PROGRAM = """
import ctypes
class Leaky:
    pass
leaky = Leaky()
leaky.__dict__["payload"] = [1, 2, 3]
ctypes.pythonapi.Py_IncRef(ctypes.py_object(leaky))
"""


class LeakedInstanceWithDict(unittest.TestCase):
    def check(self, mode):
        proc, findings = support.valgrind(
            ["-c", LEAKED_INSTANCE_PROGRAM], options=support.MEMCHECK_GATE,
            env={"PYTHONVALGRIND": mode})
        self.assertEqual(proc.returncode, 99, proc.stderr[-3000:])
        kinds = [f.kind for f in findings]
        self.assertNotIn("Leak_PossiblyLost", kinds)
        instance = [f for f in findings if f.kind == "Leak_DefinitelyLost"
                    and "_PyType_AllocNoTrack" in f.functions]
        self.assertEqual(len(instance), 1, findings)
        # The record holds the instance, its dict and the list, at least.
        self.assertGreater(instance[0].bytes, 200, instance[0].what)

    def test_malloc_mode(self):
        self.check("malloc")

    def test_pool_mode(self):
        self.check("pool")


# A page made inaccessible after it was mapped, which Memcheck still calls
# addressable (it does not follow mprotect()), named by a C static
# (PyOS_InputHook, unused by a script): an exit walk that read static data
# died of SIGSEGV there (test___all__ with -uall, whose imports leave such
# a word).  No walk reads static data now; the case stays.
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
