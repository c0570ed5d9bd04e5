"""Which allocator each Valgrind tool gets, seen from Python (_valgrind)."""

import unittest

import support

REPORT = "import _valgrind; print(_valgrind.tool(), _valgrind.mode())"


def mode_under(tool, env=None):
    proc, _ = support.valgrind(["-c", REPORT], tool=tool, env=env)
    if proc.returncode != 0:
        raise AssertionError(proc.stderr)
    return proc.stdout.split()


class ToolModes(unittest.TestCase):
    def test_native(self):
        import _valgrind
        self.assertEqual(_valgrind.running_on_valgrind(), 0)
        self.assertIsNone(_valgrind.tool())
        self.assertEqual(_valgrind.mode(), "pymalloc")

    def test_heap_tools_get_malloc_mode(self):
        for tool in ("memcheck", "massif", "dhat", "helgrind", "drd"):
            with self.subTest(tool):
                self.assertEqual(mode_under(tool), [tool, "malloc"])

    def test_profiling_tools_keep_pymalloc(self):
        for tool in ("callgrind", "cachegrind", "none", "lackey"):
            with self.subTest(tool):
                self.assertEqual(mode_under(tool), [tool, "pymalloc"])

    def test_override_under_callgrind(self):
        self.assertEqual(mode_under("callgrind", {"PYTHONVALGRIND": "malloc"}),
                         ["callgrind", "malloc"])

    def test_override_under_memcheck(self):
        self.assertEqual(mode_under("memcheck", {"PYTHONVALGRIND": "pymalloc"}),
                         ["memcheck", "pymalloc"])

    def test_pool_under_memcheck(self):
        self.assertEqual(mode_under("memcheck", {"PYTHONVALGRIND": "pool"}),
                         ["memcheck", "pool"])

    def test_pool_needs_memcheck(self):
        # Pool mode speaks Memcheck's client requests: under another tool
        # the tool's default applies, and no request reaches the tool (DHAT
        # would print "unknown DHAT client request code" for each).
        for tool, mode in (("dhat", "malloc"), ("massif", "malloc"),
                           ("callgrind", "pymalloc"), ("none", "pymalloc")):
            with self.subTest(tool):
                proc, _ = support.valgrind(["-c", REPORT], tool=tool,
                                           env={"PYTHONVALGRIND": "pool"})
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertEqual(proc.stdout.split(), [tool, mode])
                self.assertNotIn("client request", proc.stderr)

    def test_auto_is_the_default(self):
        self.assertEqual(mode_under("memcheck", {"PYTHONVALGRIND": "auto"}),
                         ["memcheck", "malloc"])


if __name__ == "__main__":
    unittest.main()
