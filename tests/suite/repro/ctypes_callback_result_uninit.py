"""A ctypes callback that raises returns an uninitialised value to C.

_CallPythonObject() (Modules/_ctypes/callbacks.c) writes the callback's
result into libffi's return buffer only when the Python callable returned
an object that converts to the restype.  When the callable raises, or its
result does not convert, it reports the exception as unraisable and
returns, leaving the buffer as libffi handed it over: the C caller gets
whatever bytes were there.  (CPython's own test says so: "don't test the
result since it is an uninitialized value".)  A fix: zero the return
buffer (restype->size bytes, at least sizeof(ffi_arg)) before returning
without a result.

Natively the script passes (the value printed is arbitrary).  Under
Memcheck:

    valgrind build/python tests/suite/repro/ctypes_callback_result_uninit.py

reports "Conditional jump or move depends on uninitialised value(s)" at
PyLong_FromLong < GetResult < _ctypes_callproc: the int that the call
through the callback's function pointer returns is made from undefined
bytes.  Seen in test_ctypes (test_callbacks.SampleCallbacksTestCase.
test_convert_result_error, test_random_things.CallbackTracbackTestCase).
"""

import sys
from ctypes import CFUNCTYPE, c_int

sys.unraisablehook = lambda unraisable: None   # the exception is expected


def callback():
    raise ZeroDivisionError


result = CFUNCTYPE(c_int)(callback)()
if result != 12345:     # a branch on the returned value: Memcheck sees it
    print("callback returned", result)
