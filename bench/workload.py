"""Allocation-heavy workload for make bench: small tuples, strings, lists,
dicts and floats, created and dropped in batches, as object-churning Python
code does.  Argument: number of iterations."""

import sys


def churn(iterations):
    batch = []
    total = 0
    for i in range(iterations):
        batch.append((i, str(i), [i, i + 1.5], {"key": i, "half": i / 2}))
        if len(batch) == 512:
            total += sum(len(item[1]) for item in batch)
            batch = []
    return total


if __name__ == "__main__":
    churn(int(sys.argv[1]) if len(sys.argv) > 1 else 3_000_000)
