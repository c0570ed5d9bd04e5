"""Wider check (not the issue's script): four threads share a list (indexing,
iteration, append/pop), a dict (iteration, get/set, pop), an instance's
attributes, a set, a deque, a Lock/RLock/Condition, and trigger gc."""
import collections, gc, threading

import sys
N = int(sys.argv[1]) if len(sys.argv) > 1 else 400
shared_list = list(range(100))
shared_dict = {i: str(i) for i in range(100)}
shared_set = set()
dq = collections.deque()
class Obj: pass
obj = Obj(); obj.x = 0
lock = threading.Lock(); rlock = threading.RLock(); cond = threading.Condition()
total = 0

def work(t):
    global total
    for i in range(N):
        _ = shared_list[i % 50]
        shared_list.append(i)
        shared_list.pop()
        for k in list(shared_dict)[:5]:
            shared_dict.get(k)
        shared_dict[i % 100] = str(i)
        obj.x = i; _ = obj.x
        shared_set.add(i % 32); shared_set.discard((i + 7) % 32)
        dq.append(i)
        if len(dq) > 10:
            dq.popleft()
        with rlock:
            with lock:
                total += 1
        if i % 100 == 0:
            gc.collect()
            with cond:
                cond.notify_all()

ths = [threading.Thread(target=work, args=(t,)) for t in range(4)]
for t in ths: t.start()
for t in ths: t.join()
assert total == 4 * N
print("ok", total)
