"""Seeded real race (issue 22): two threads call racy.bump(), which
increments a C static without a lock.  Both checkers must name racy_bump.
(No shared containers here: a happens-before checker cannot see a race
between accesses that some real lock, such as a shared dict's critical
section, happens to order in the run.)"""
import sys, threading
sys.path.insert(0, "/work/h22/seeded")
import racy

barrier = threading.Barrier(2)

def work():
    barrier.wait()          # both threads run at once (Valgrind time-slices them)
    for i in range(20):
        racy.bump(20000)

ths = [threading.Thread(target=work) for t in range(2)]
for t in ths: t.start()
for t in ths: t.join()
print("counter", racy.get())
