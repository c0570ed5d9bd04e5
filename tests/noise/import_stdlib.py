"""Import every importable module of the standard library (top-level names
from sys.stdlib_module_names, and the submodules of its packages), for the
noise check under Memcheck."""

import importlib
import pkgutil
import sys

# Modules with a side effect on import (a browser, printed text), the
# iOS-only _ios_support (it loads libobjc through ctypes where one is
# installed), and the packages whose submodules are test suites or GUI
# programs.
SKIP = {"antigravity", "this", "__hello__", "__phello__", "_ios_support"}
NO_SUBMODULES = {"test", "idlelib", "tkinter", "turtledemo", "lib2to3", "ensurepip"}

imported = failed = 0
for name in sorted(sys.stdlib_module_names - SKIP):
    try:
        module = importlib.import_module(name)
    except ImportError:
        failed += 1
        continue
    imported += 1
    if name in NO_SUBMODULES or not hasattr(module, "__path__"):
        continue
    for info in pkgutil.walk_packages(module.__path__, name + "."):
        if info.name.rsplit(".", 1)[-1] == "__main__" or ".test" in info.name:
            continue
        try:
            importlib.import_module(info.name)
        except Exception:
            failed += 1
            continue
        imported += 1
print("imported %d modules, %d not importable here" % (imported, failed))
