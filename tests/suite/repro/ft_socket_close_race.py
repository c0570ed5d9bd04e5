"""Free-threaded build: socket.close() races with the socket's other methods.

sock_close() (Modules/socketmodule.c) reads s->sock_fd, stores
INVALID_SOCKET into it and closes the descriptor; every other method
(getsockname(), accept(), recv(), send()...) reads s->sock_fd with a plain
load, without a lock and without an atomic.  On the GIL build the GIL
orders them; on the free-threaded build a thread calling a method while
another closes the socket is a data race on sock_fd, and the method may
use a descriptor number that is closed, or already reused by an open()
elsewhere.  3.13.5 and 3.13.15 both have it.  Known upstream as
gh-116912 ("TSan: data race accessing socket fd"); CPython's TSan CI
suppresses it (Tools/tsan/suppressions_free_threading.txt:
race_top:sock_close, race:sock_recv_impl).

Natively the script passes.  Under Helgrind, on the free-threaded build
of the series:

    valgrind --tool=helgrind build/python-ft \
        tests/suite/repro/ft_socket_close_race.py

reports "Possible data race during write of size 4" at sock_close,
conflicting with a read at sock_fileno in the other thread (under
DRD: "Conflicting store" at sock_close).  Found by the thread checkers on
test_socket (test_dual_stack_client_v6: against sock_accept_impl) and
test_ssl (TestPreHandshakeClose: against sock_getsockname).
"""

# A happens-before checker reports what is unordered in the run it sees.
# A collection stops the world, which orders every thread (each parks): one
# between the close and the other thread's next read hides the race in that
# run.  So the collector is off before the imports allocate (a collection
# they make due runs at a later check of the eval breaker), and each loop is
# the bare C call.
import gc
gc.disable()

import socket
import threading
import time

sock = socket.socket()
started = threading.Event()


def use_until_closed():
    fileno = sock.fileno          # sock_fileno(): reads sock_fd, no lock
    started.set()
    while fileno() != -1:
        pass


user = threading.Thread(target=use_until_closed)
user.start()
started.wait()
time.sleep(0.05)
close = socket.socket._real_close   # sock_close(), as socket.close() calls it
close(sock)
user.join()
