"""Run a test suite under Valgrind's Memcheck, with a verdict per test.

    python -m memcheck [options] unittest [unittest arguments]
    python -m memcheck [options] pytest [pytest arguments]

Each test runs once.  Memcheck's errors are blamed on the test that was
running.  Leaks are searched for after groups of tests, sized so that the
searches cost a small share of the run; a group whose search finds a leak
is narrowed down by running each of its tests again with a search of its
own: a test whose second run leaks fails, and what only the first run
leaked is reported as a leak of first use.  Under a thread checker
(--tool=helgrind or drd, or PYTHONMEMCHECKTOOL), each race or misuse of a
lock fails the test that was running when the tool reported it, and no
leaks are searched for.  Run "python -m memcheck --help" for the options,
and see Misc/README.valgrind.

The submodules are the pieces, shared with regrtest's --valgrind option:
command (Valgrind command lines, their options and the tools), report
(Memcheck's, Helgrind's and DRD's XML output read into findings and test
windows), checker (the groups and searches inside the process under test),
junit (JUnit XML).
"""

# Prefix of the log lines (Valgrind client messages) that delimit tests.
MARKER = "python-memcheck "


def parse_shard(text):
    """'K/N' -> (K, N), for K in 1..N: run the K-th of N slices."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"shard must be K/N, got {text!r}") from None
    if not 1 <= k <= n:
        raise ValueError(f"shard {text!r}: K must be between 1 and N")
    return k, n


def in_shard(index, shard):
    """Whether the INDEX-th test (0-based, in collection order) belongs to
    SHARD, a (K, N) pair or None.  Tests are dealt round-robin, so that
    slow neighbours spread over the shards."""
    return shard is None or index % shard[1] == shard[0] - 1


def select(units, shard=None):
    """The positions of the tests this process runs, in order.  UNITS holds
    the unit of each collected test, in collection order: tests of one unit
    share fixtures (of a class, a module) and stay in one process; a test
    that shares none is a unit of its own.  SHARD (K, N): the K-th
    round-robin slice of the tests.  With -jN the processes share the
    slice unit by unit as each asks (memcheck._child.Share)."""
    return [i for i in range(len(units)) if in_shard(i, shard)]
