"""regrtest --shard K/N: one of N round-robin slices of the selected test
files, for a CI matrix.  The slices are those of python -m memcheck's
--shard (memcheck.parse_shard, memcheck.in_shard), so that one CI matrix
reads the same either way."""

from memcheck import in_shard, parse_shard

from .utils import TestList


def check_shard(text: str) -> None:
    """Raise ValueError, with what was expected, unless TEXT is K/N."""
    parse_shard(text)


def shard_tests(tests: TestList, shard: str | None) -> TestList:
    """The K-th of N round-robin slices of TESTS (in their given order),
    for --shard K/N."""
    if shard is None:
        return tests
    k_n = parse_shard(shard)
    return [test for i, test in enumerate(tests) if in_shard(i, k_n)]
