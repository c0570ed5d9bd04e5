"""Free-threaded build: exhausting reversed(dict) unlocks a freed dict.

dictreviter_iternext() (Objects/dictobject.c) runs
dictreviter_iter_lock_held() inside Py_BEGIN_CRITICAL_SECTION(d) on the
iterator's dict.  When the iterator is exhausted, that function clears
di->di_dict and drops its reference (Py_DECREF(d)) while the critical
section still holds d's mutex.  If the iterator held the last reference,
the dict is freed there, and Py_END_CRITICAL_SECTION() then unlocks the
mutex inside the freed object (_PyMutex_Unlock reads and writes
d->ob_mutex).  3.13.5 and 3.13.15 both have it.  The GIL build is not
affected (no critical sections).

Natively the script passes (the freed memory is usually still mapped).
Under Memcheck, on the free-threaded build of the series:

    valgrind build/python-ft tests/suite/repro/ft_dictreviter_uaf.py

reports "Invalid read of size 1" at _Py_atomic_compare_exchange_uint8 <
_PyMutex_Unlock < _PyCriticalSection_End < dictreviter_iternext.  Found by
the noise check on the free-threaded build (test_dict).  The series fixes
it (ft-dictreviter-reference.patch): the iterator's reference is dropped
after the critical section ends.
"""

# The iterator holds the only reference to the dict it walks.
assert list(reversed(dict(a=1, b=2))) == ["b", "a"]
