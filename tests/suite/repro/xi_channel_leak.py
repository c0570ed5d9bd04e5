"""Two leaks of cross-interpreter data in CPython 3.13.5 (test_types,
SubinterpreterTests.test_static_types_inherited_slots).

    valgrind --leak-check=full --show-leak-kinds=definite \
        build/python tests/suite/repro/xi_channel_leak.py [N]

1. prepare_main() leaks the 40-byte _PyCrossInterpreterData of each
   namespace item (_sharednsitem_set_value, crossinterp.c:1149):
   _release_xid_data() (crossinterp.c:454) has its ternary inverted, so
   rawfree=1 calls _PyCrossInterpreterData_Release() (no free) and
   rawfree=0 _PyCrossInterpreterData_ReleaseAndRawFree().
   Reported with N = 0.  Fixed upstream in 3.13.15 (gh-140306) and in the
   series by xi-leaks-fixed-in-3.13.15.patch: 3.13.5 without it shows it.

2. Items a subinterpreter sends over a channel and the main interpreter
   receives are released by a pending call in the subinterpreter
   (_xidata_release -> _Py_CallInInterpreterAndRawFree, crossinterp.c:43).
   That queue holds 300 calls (PENDINGCALLSARRAYSIZE) and the subinterpreter
   runs no code to drain it: past 300, _PyEval_AddPendingCall() fails, the
   failure is ignored ("XXX Emit a warning if this fails?"), and the
   channel_send() block (_interpchannelsmodule.c:1781), its object and its
   items are lost.  With N = 1175, Memcheck reports 875 blocks definitely
   lost at channel_send; with N <= 300, none.
"""
import sys
import os
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                "build", "src", "Lib"))
from test.support import interpreters
import test.support.interpreters.channels

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1175

rch, sch = interpreters.channels.create()
interp = interpreters.create()
interp.prepare_main(sch=sch)
interp.exec(f"for i in range({N}): sch.send_nowait(('x', 'y', repr(i)))")
for i in range(N):
    assert rch.recv() == ('x', 'y', repr(i))
