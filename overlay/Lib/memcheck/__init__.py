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
report (Valgrind's XML output read into findings and test windows), checker
(the per-test protocol inside the process under test), junit (JUnit XML).
"""

import os
import shlex

# The options every checked run uses.  "still reachable" and "possibly lost"
# are not findings: a running interpreter always has both (its caches, and
# objects referenced by a pointer past their GC header).
MEMCHECK_OPTIONS = (
    "--tool=memcheck",
    "--leak-check=full",
    "--show-leak-kinds=definite,indirect",
    "--errors-for-leak-kinds=definite,indirect",
    "--num-callers=30",
    "--child-silent-after-fork=yes",
)

# Extra Valgrind options, as a shell-quoted string, for both regrtest's
# --valgrind and "python -m memcheck".
OPTIONS_ENV = "PYTHONMEMCHECKOPTS"

# Prefix of the log lines (Valgrind client messages) that delimit tests.
MARKER = "python-memcheck "


def valgrind_command(python, xml_file, extra_options=()):
    """The command that runs PYTHON under Memcheck with XML output to
    XML_FILE: our options, then PYTHONMEMCHECKOPTS, then EXTRA_OPTIONS."""
    user = shlex.split(os.environ.get(OPTIONS_ENV, ""))
    return ["valgrind", *MEMCHECK_OPTIONS, *user, *extra_options,
            "--xml=yes", "--xml-file=" + xml_file, python]


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
