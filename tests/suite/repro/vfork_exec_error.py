"""Under Valgrind, a child started through vfork() does not report a failed
exec: subprocess.Popen() of a missing program returns a process (whose
exit status is 127) instead of raising FileNotFoundError.

_posixsubprocess starts children with vfork() when it can (no preexec_fn,
...); Valgrind runs vfork() as fork(), and the exec error the child reports
does not reach the parent as it does natively.  With preexec_fn (fork())
the error is raised under Valgrind too.  Natively both raise.

    valgrind -q build/python tests/suite/repro/vfork_exec_error.py
"""

import subprocess

for label, kwargs in (("vfork()", {}), ("fork()", {"preexec_fn": lambda: None})):
    try:
        proc = subprocess.Popen(["/_this/does/not/exist"], **kwargs)
        print(f"{label}: no error, exit status {proc.wait()}")
    except FileNotFoundError:
        print(f"{label}: FileNotFoundError")
