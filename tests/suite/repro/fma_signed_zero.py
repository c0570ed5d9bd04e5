"""math.fma() loses the sign of a zero result under Valgrind (test_math,
FMATests.test_fma_zero_result): Valgrind's emulation, not CPython.

    build/python tests/suite/repro/fma_signed_zero.py             # all True
    valgrind -q build/python tests/suite/repro/fma_signed_zero.py # False

math.fma() calls glibc's fma(), which picks the FMA3 instruction (vfmadd)
on this CPU, or a software version built on the rounding mode and the
exception flags: either way Valgrind 3.19's emulation gives +0.0 where
IEEE 754 asks for -0.0, for an exact zero sum (x*y = -0 plus z = -0) and
for a product that underflows to zero (-tiny*tiny + 0).  Natively all three
are -0.0.  (Which of glibc's two paths runs under Valgrind was not checked.)
"""
import math
import sys

tiny = sys.float_info.min * sys.float_info.epsilon   # smallest subnormal
cases = {
    "fma(0.0, -2.3, -0.0)": math.fma(0.0, -2.3, -0.0),
    "fma(0.0, -1e300, -0.0)": math.fma(0.0, -1e300, -0.0),
    "fma(tiny, -tiny, 0.0)": math.fma(tiny, -tiny, 0.0),
}
for text, value in cases.items():
    print(f"{text} = {value!r}: negative zero {math.copysign(1, value) < 0}")
