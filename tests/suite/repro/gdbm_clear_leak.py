"""dbm.gnu's clear() leaks the key of every record it deletes.

_gdbm_gdbm_clear_impl() (Modules/_gdbmmodule.c) deletes records one by one:
key = gdbm_firstkey(), then gdbm_delete(key), until no key is left.
gdbm_firstkey() returns the key in a malloc()ed buffer (key.dptr) that the
caller must free(); clear() never does.  Each clear() of a database of N
records leaks N keys.  Fixed upstream in later 3.13 releases (3.13.15 frees
key.dptr after gdbm_delete() and on its error path); 3.13.5 has the leak.

Natively the script passes.  Under Memcheck:

    valgrind --leak-check=full build/python tests/suite/repro/gdbm_clear_leak.py

reports "definitely lost" blocks (100 of them, one per key) allocated in
libgdbm by gdbm_firstkey < _gdbm_gdbm_clear_impl.  Seen in test_dbm
(TestCase_gnu.test_clear), test_dbm_gnu (TestGdbm.test_clear) and
test_shelve (the gnuShelve cases' test_update, which clear a shelf).
"""

import dbm.gnu
import os
import tempfile

with tempfile.TemporaryDirectory() as tmp:
    with dbm.gnu.open(os.path.join(tmp, "db"), "c") as db:
        for i in range(100):
            db[f"key{i}"] = b"value"
        db.clear()
        assert len(db) == 0
