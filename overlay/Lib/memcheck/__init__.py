"""Run a test suite under Valgrind's Memcheck, with a verdict per test.

    python -m memcheck [options] unittest [unittest arguments]
    python -m memcheck [options] pytest [pytest arguments]

Each test runs twice inside one Memcheck process: a warm-up run, so that
caches and lazily created objects settle, then a checked run followed by a
leak search.  A test fails when its runs cause a Memcheck error or when the
leak search finds definitely or indirectly lost memory added by the checked
run.  Run "python -m memcheck --help" for the options, and see
Misc/README.valgrind.

The submodules are the pieces, shared with regrtest's --valgrind option:
command (Valgrind command lines and their options), report (Valgrind's XML
output read into findings and test windows), checker (the per-test protocol
inside the process under test), junit (JUnit XML).
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
