"""Issue 22: two threads update a shared dict and list with no Python-level
lock, and a counter under a threading.Lock.  Correct Python: every race a
checker reports here is CPython's own (or a missed annotation)."""
import threading

N = 2000
shared_dict = {}
shared_list = []
counter = 0
lock = threading.Lock()


def work(tid):
    global counter
    for i in range(N):
        shared_dict[(tid, i % 64)] = i
        shared_dict.get((1 - tid, i % 64))
        shared_list.append(i)
        if len(shared_list) > 100:
            shared_list.pop(0)
        with lock:
            counter += 1


threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert counter == 2 * N, counter
print("ok", counter, len(shared_dict))
