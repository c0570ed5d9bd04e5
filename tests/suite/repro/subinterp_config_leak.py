"""A subinterpreter whose settings are rejected leaks its copy of the config.

new_interpreter() (Python/pylifecycle.c) copies the current config into the
new interpreter (_PyConfig_Copy(&interp->config, ...)), then checks the
settings (init_interp_settings()).  When they are rejected, the error path
deletes the interpreter with PyInterpreterState_Delete() but never calls
PyInterpreterState_Clear(), whose interpreter_clear() is what frees the
copy (PyConfig_Clear(&interp->config)).  Each rejected configuration leaks
the config's strings and string lists: about 1.9 KB (for the 3 below,
3,372 bytes in 57 blocks definitely lost and 2,424 bytes in 18 blocks
indirectly, in four loss records).

Natively the script passes.  Under Memcheck:

    valgrind --leak-check=full build/python tests/suite/repro/subinterp_config_leak.py

reports "definitely lost" blocks allocated by PyConfig_SetString and
_PyWideStringList_Copy < _PyConfig_Copy < new_interpreter, one set per
rejected interpreter.  Seen in test_capi (InterpreterConfigTests.
test_interp_init, SubinterpreterTest.test_configured_settings).  Fixed
upstream in 3.13.15 (gh-140301) and in the series by
subinterp-config-leak-fixed-in-3.13.15.patch: run it on 3.13.5 without
that patch to see the leak.
"""

import types
import _testinternalcapi

# Its own obmalloc state but single-phase init extensions allowed: rejected
# ("per-interpreter obmalloc does not support single-phase init extension
# modules").
config = types.SimpleNamespace(
    use_main_obmalloc=False, allow_fork=False, allow_exec=False,
    allow_threads=True, allow_daemon_threads=False,
    check_multi_interp_extensions=False, gil="own")
for _ in range(3):
    try:
        _testinternalcapi.run_in_subinterp_with_config("pass", config)
    except Exception as exc:
        print("rejected:", exc)
