"""Twenty threads take turns on one threading.Lock while the main thread
sends them SIGUSR1, for SECONDS (argument, default 20).  The lock's
parking lot bucket has a _PyRawMutex, contended here: each waiter links
an entry on its own stack into the mutex word, and the unlocker reads the
entry's next field.  Under Helgrind on build/python-ft, 60 s of it gave
6-10 reports of that read before the entry's publication was told, 0
since (Misc/README.valgrind).  The signals interrupt waits: on 3.13.5
without rawmutex-wakeup-fixed-in-3.13.15.patch, a waiter interrupted so
could leave before the unlocker's post (gh-148820), which no run of this
script has shown."""
import signal
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
signal.signal(signal.SIGUSR1, lambda *args: None)
lock = threading.Lock()
stop = threading.Event()


def contend():
    while not stop.is_set():
        with lock:
            pass


threads = [threading.Thread(target=contend) for _ in range(20)]
for thread in threads:
    thread.start()
deadline = time.monotonic() + SECONDS
while time.monotonic() < deadline:
    for thread in threads:
        try:
            signal.pthread_kill(thread.ident, signal.SIGUSR1)
        except ProcessLookupError:
            pass
stop.set()
for thread in threads:
    thread.join()
