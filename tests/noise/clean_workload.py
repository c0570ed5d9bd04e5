"""A realistic, correct workload over the C accelerators, for the noise
check under Memcheck: it must produce no report."""

import bisect
import collections
import csv
import datetime
import decimal
import functools
import hashlib
import heapq
import io
import itertools
import json
import pickle
import re
import struct
import zlib

records = [{"id": i, "name": "item-%d" % i, "price": decimal.Decimal(i) / 7,
            "when": datetime.datetime(2024, 1, 1) + datetime.timedelta(hours=i)}
           for i in range(300)]

text = json.dumps([{**r, "price": str(r["price"]), "when": r["when"].isoformat()}
                   for r in records])
assert len(json.loads(text)) == len(records)

buffer = io.StringIO()
writer = csv.writer(buffer)
for r in records:
    writer.writerow([r["id"], r["name"], r["price"]])
rows = list(csv.reader(io.StringIO(buffer.getvalue())))
assert len(rows) == len(records)

assert pickle.loads(pickle.dumps(records)) == records
packed = b"".join(struct.pack("<iq", r["id"], r["id"] * 3) for r in records)
assert zlib.decompress(zlib.compress(packed)) == packed
assert len(hashlib.sha256(packed).hexdigest()) == 64

counts = collections.Counter(re.findall(r"item-(\d)", text))
heap = [(-v, k) for k, v in counts.items()]
heapq.heapify(heap)
ordered = sorted(r["id"] for r in records)
assert bisect.bisect_left(ordered, 150) == 150
total = functools.reduce(lambda a, b: a + b, itertools.islice(ordered, 100))
assert total == sum(range(100))
deque = collections.deque(maxlen=10)
deque.extend(ordered)
assert list(deque) == ordered[-10:]
print("clean workload done")
