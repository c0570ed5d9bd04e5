"""Known findings: one file format, read by every tool of the series.

regrtest's --valgrind (Lib/test/libregrtest/valgrind_known.txt, or
--valgrind-known FILE), "python -m memcheck --known-file FILE" and the
series' tools/valgrindtest-all all read their files here, so that a file
means the same to each, and a line one of them cannot read stops each of
them with the same message (FILE:LINE: what was expected).

A line is an entry, "#" starts a comment line, blank lines are skipped:

    TEST  CATEGORY  [frames=FUNCTION[,FUNCTION...]]  REASON
    PATTERN

TEST is an fnmatch pattern of test ids (regrtest: relative to the test
package, test_os.TimerfdTests.test_x; python -m memcheck: unittest's or
pytest's ids).  CATEGORY is one of CATEGORIES.  frames= lists fnmatch
patterns of C function names (a compiler's clone, channel_send.constprop.0,
answers to channel_send too).  REASON is free text, for people.

A lone PATTERN is what "python -m memcheck --known PATTERN" gives: two
entries of category "bug", one for the test ids PATTERN matches, one for
every test whose findings have a function PATTERN matches.
"""

import fnmatch
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

# Findings of the tests an entry of these categories matches are reported
# as known instead of failing: a bug of the code under test, or of CPython.
KNOWN = ("bug", "cpython-bug")
# Tests that regrtest --valgrind does not run: Valgrind's emulation differs
# from the CPU there, or they need more time or devices than Memcheck has.
NOT_RUN = ("emulation", "resources")
CATEGORIES = KNOWN + NOT_RUN

FRAMES = "frames="
EXPECTED = ("expected 'TEST  CATEGORY  [frames=FUNCTION,...]  REASON' "
            "(a category of " + ", ".join(CATEGORIES) + ") or a lone "
            "PATTERN")


class KnownFileError(ValueError):
    """A line that is not an entry.  Its message starts with FILE:LINE."""


class Entry(NamedTuple):
    test: str                   # fnmatch pattern of test ids
    category: str
    frames: tuple[str, ...]     # fnmatch patterns of function names
    reason: str
    where: str                  # FILE:LINE, or --known PATTERN


def from_pattern(pattern: str, where: str = "--known") -> list[Entry]:
    """The entries of a lone PATTERN: tests whose id it matches, and tests
    with a function it matches in their findings' stacks."""
    return [Entry(pattern, "bug", (), "", where),
            Entry("*", "bug", (pattern,), "", where)]


def parse_line(line: str, where: str) -> list[Entry]:
    """The entries of one line ([] for a comment or a blank line).  WHERE
    (FILE:LINE) starts the message of the KnownFileError it raises."""
    text = line.strip()
    if not text or text.startswith("#"):
        return []
    fields = text.split(None, 2)
    if len(fields) == 1:
        return from_pattern(text, where)
    if len(fields) < 3 or fields[1] not in CATEGORIES:
        raise KnownFileError(f"{where}: {EXPECTED}: {text!r}")
    test, category, rest = fields
    frames: tuple[str, ...] = ()
    if rest.startswith(FRAMES):
        field, _, rest = rest.partition(" ")
        frames = tuple(field[len(FRAMES):].split(","))
        if not all(frames):
            raise KnownFileError(f"{where}: frames= needs function names "
                                 f"separated by commas: {field!r}")
        if category not in KNOWN:
            raise KnownFileError(f"{where}: frames= is for the categories "
                                 f"{', '.join(KNOWN)}: the tests of "
                                 f"{category!r} do not run: {text!r}")
        rest = rest.strip()
        if not rest:
            raise KnownFileError(f"{where}: no REASON after frames=: "
                                 f"{text!r}")
    return [Entry(test, category, frames, rest, where)]


def read(path: Any) -> list[Entry]:
    """The entries of the file PATH.  Raise KnownFileError for a line that
    is not one, OSError when the file cannot be read."""
    entries: list[Entry] = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            entries += parse_line(line, f"{path}:{number}")
    return entries


def not_run(entries: Iterable[Entry]) -> list[Entry]:
    """The entries of tests that regrtest --valgrind leaves out."""
    return [entry for entry in entries if entry.category in NOT_RUN]


def function_names(findings: Iterable[Any]) -> set[str]:
    """The function names of the findings' stacks (memcheck.report's
    Findings), with a compiler's clones under their function's name too."""
    names = set()
    for finding in findings:
        for frame in finding.frames:
            names.add(frame.fn)
            names.add(frame.fn.split(".")[0])
    return names


def covering(entries: Iterable[Entry], ids: Sequence[str],
             findings: Sequence[Any]) -> Entry | None:
    """The first entry that makes FINDINGS known, or None.

    FINDINGS are judged together, as one verdict: those of a test, of a
    group of tests (a leak of first use), or outside any test.  IDS are the
    names they answer to: the test's id, the group's tests, the file or
    "(outside tests)".  An entry covers them when its TEST matches one of
    IDS and, if it lists frames, one of them matches a function of one of
    the findings: what a leak holds indirectly was often allocated
    elsewhere, and is known with the leak that holds it."""
    names: set[str] | None = None
    for entry in entries:
        if entry.category not in KNOWN:
            continue
        if not any(fnmatch.fnmatchcase(name, entry.test) for name in ids):
            continue
        if not entry.frames:
            return entry
        if names is None:
            names = function_names(findings)
        if any(fnmatch.fnmatchcase(name, pattern)
               for pattern in entry.frames for name in names):
            return entry
    return None
