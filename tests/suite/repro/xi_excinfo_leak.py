"""An uncaught exception in a subinterpreter leaks its captured exception
info (CPython 3.13.5; test_interpreters).  Fixed upstream in 3.13.15
(gh-140306) and in the series by xi-leaks-fixed-in-3.13.15.patch: run it
on 3.13.5 without that patch to see the leak.

    valgrind --leak-check=full --show-leak-kinds=definite \
        build/python tests/suite/repro/xi_excinfo_leak.py [N]

Each Interpreter.exec() that raises leaks the strings of its _PyXI_excinfo
(type name, qualname, module, message, formatted traceback), allocated by
_copy_string_obj_raw() under _PyXI_excinfo_InitFromException() (from
_capture_current_exception() in _PyXI_Exit()):
_run_in_interpreter() turns the captured error into an exception with
_PyXI_ApplyCapturedException() -> _PyXI_ApplyError(), and nothing calls
_PyXI_excinfo_Clear() on session->_error.uncaught afterwards.
"""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                "build", "src", "Lib"))
from test.support import interpreters

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5

interp = interpreters.create()
for i in range(N):
    try:
        interp.exec("raise ValueError('spam')")
    except interpreters.ExecutionFailed:
        pass
    else:
        raise AssertionError("no exception")
interp.close()
