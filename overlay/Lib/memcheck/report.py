"""Valgrind's XML output read into findings, each placed in its test.

The XML of Memcheck, Helgrind and DRD is read alike: a report's <kind>, its
<what> or <xwhat><text>, and its first <stack>, where the tool reported it.
The thread checkers' reports say more after it (Finding.aux): Helgrind's
<xauxwhat> and the <stack> after it, "This conflicts with a previous write
of size 8 by thread #2", and where the memory is; DRD's segment of the other
thread in which the conflicting access lies (<other_segment_start>,
<other_segment_end>).  Only Memcheck's reports are leak records.

Memcheck writes its reports and the process's markers (client messages) into
one XML file, in the order they happen (memcheck.checker writes the markers).
An error between a test's "begin" and "end" markers, or during its re-run,
belongs to that test.  The leak records of a search belong to the group of
tests the search ended.  When the group was narrowed down, the records of a
test's own re-run are that test's leaks (what one run of it leaks), and a
record of the group's search at a site that no re-run leaked again is a
leak of first use in the group (of the test itself when the group is one
test).  When the narrowing stopped at its budget, a record at a site that a
re-run of several tests leaked again is blamed on the tests that the
narrowing left, together.
Reports after "session-end" come from Memcheck's own search when the
process exits: a leak record seen there whose allocation stack a search
already reported is that leak again, any other is a finding of its own.
"""

import json
import re
import xml.etree.ElementTree as ET

from . import MARKER

LEAK_KINDS = {
    "Leak_DefinitelyLost": "definitely lost",
    "Leak_IndirectlyLost": "indirectly lost",
    "Leak_PossiblyLost": "possibly lost",
    "Leak_StillReachable": "still reachable",
}

# The kinds of the thread checkers' reports (every one an error).
HELGRIND_KINDS = ("Race", "UnlockUnlocked", "UnlockForeign", "UnlockBogus",
                  "PthAPIerror", "LockOrder", "Misc")
DRD_KINDS = ("ConflictingAccess", "MutexErr", "CondErr", "CondDestrErr",
             "CondRaceErr", "CondWaitErr", "SemaphoreErr", "BarrierErr",
             "RwlockErr", "HoldtimeErr", "GenericErr", "InvalidThreadId",
             "UnimpHgClReq", "UnimpDrdClReq")
THREAD_KINDS = HELGRIND_KINDS + DRD_KINDS

# Frames that only say "memory was allocated": a report shows the frames
# after them, where the caller is.  By function name, and every frame of
# CPython's allocator files (Objects/obmalloc.c and the files it includes,
# whatever their static functions are called).
_ALLOCATOR_FRAMES = (
    "malloc", "calloc", "realloc", "free", "memalign", "posix_memalign",
    "PyMem_", "PyObject_Malloc", "PyObject_Calloc", "PyObject_Realloc",
    "PyObject_Free", "_PyObject_Malloc", "_PyObject_Calloc",
    "_PyObject_Realloc", "_PyObject_Free", "_PyMem_",
    "_PyValgrind_", "gc_alloc", "_PyObject_GC_", "PyObject_GC_",
    "_PyType_AllocNoTrack", "PyType_GenericAlloc",
    "_PyObject_MallocWithType", "_PyObject_ReallocWithType",
)
_ALLOCATOR_FILES = ("obmalloc",)

# Malloc mode's frames that name the tag of a test (group_tag_GG and
# test_tag_TT: its high and low byte; _valgrind.set_test_tag()).
_TEST_TAG = re.compile(r"(group|test)_tag_([0-9a-f]{2})")

# Frames of the interpreter's machinery for calling a function.
_CALL_MACHINERY = (
    "_PyEval_", "cfunction_", "method_vectorcall", "_PyObject_Vectorcall",
    "PyObject_Vectorcall", "_PyObject_MakeTpCall", "_PyObject_Call",
    "PyObject_Call",
)


class Frame:
    def __init__(self, node):
        self.fn = node.findtext("fn") or "???"
        self.obj = node.findtext("obj") or ""
        self.file = node.findtext("file")
        self.line = node.findtext("line")

    @property
    def is_allocator(self):
        return (self.fn.startswith(_ALLOCATOR_FRAMES)
                or (self.file or "").startswith(_ALLOCATOR_FILES))

    @property
    def is_interpreter(self):
        """In the interpreter, the C library or Valgrind's preload."""
        name = self.obj.rsplit("/", 1)[-1]
        return name.startswith(("python", "libpython", "libc.so", "ld-linux",
                                "vgpreload_"))

    def __str__(self):
        if self.file:
            return f"{self.fn} ({self.file}:{self.line})"
        return f"{self.fn} (in {self.obj.rsplit('/', 1)[-1]})"


class Finding:
    """One Memcheck report: an error, or a leak record."""

    def __init__(self, node):
        self.kind = node.findtext("kind")
        self.what = (node.findtext("what") or node.findtext("xwhat/text")
                     or "").strip()
        if node.tag == "fatal_signal":
            # The signal that ended the process, where it was raised.
            self.kind = "FatalSignal"
            self.what = ": ".join(filter(None, (
                node.findtext("signame"), node.findtext("event"))))
            if node.findtext("siaddr"):
                self.what += f" at address {node.findtext('siaddr')}"
        self.bytes = int(node.findtext("xwhat/leakedbytes") or 0)
        self.blocks = int(node.findtext("xwhat/leakedblocks") or 0)
        stack = node.find("stack")
        self.frames = ([Frame(f) for f in stack.iter("frame")]
                       if stack is not None else [])
        self.aux = _aux(node, stack)
        self.test = None        # the test it belongs to, when known
        self.phase = None       # "run", "rerun", "first-use", "exit",
                                # "unnarrowed"
        self.group = ()         # a leak that no test owns: the tests of
                                # the group whose search found it

    def __repr__(self):
        return "<%s %s in %s>" % (self.kind, self.what, " < ".join(
            frame.fn for frame in self.frames[:8]))

    @property
    def functions(self):
        """The function names of the stack, innermost first."""
        return [frame.fn for frame in self.frames]

    @property
    def added_bytes(self):
        """The bytes of this leak record found by its search, without the
        ones it holds indirectly (their own records count them): a record
        that an earlier search knew says "N (+M) bytes", one that holds
        others says "N (D direct, I indirect) bytes"."""
        number = r"[\d,]+(?: \(\+([\d,]+)\))?"
        match = re.match(rf"({number}) (?:\(({number}) direct, )?", self.what)
        if match is None:
            return self.bytes
        if match.group(3) is not None:          # "(D direct, ...)"
            added, total = match.group(4), match.group(3)
        else:
            added, total = match.group(2), match.group(1)
        return int((added or total).split()[0].replace(",", ""))

    @property
    def is_leak(self):
        return self.kind in LEAK_KINDS

    @property
    def stack_key(self):
        return tuple((f.fn, f.file, f.line) for f in self.frames)

    @property
    def tag(self):
        """The tag of the test that allocated the block (malloc mode's
        group_tag_GG and test_tag_TT frames), or None."""
        parts = {}
        for f in self.frames[:10]:
            match = _TEST_TAG.fullmatch(f.fn)
            if match:
                parts[match.group(1)] = int(match.group(2), 16)
        if "test" not in parts:
            return None
        return parts.get("group", 0) << 8 | parts["test"]

    @property
    def site_key(self):
        """Where the leak is made: the stack from the first frame past the
        allocator (whose frames differ with and without a test's tag) up
        to the first frame of an extension module, or for a leak of the
        interpreter's own up to its call machinery.  A test and its re-run
        leak at the same site, but the frames above differ (the adaptive
        interpreter specialises a call once it has run)."""
        frames = [f for f in self.frames if not _TEST_TAG.fullmatch(f.fn)]
        while len(frames) > 1 and frames[0].is_allocator:
            del frames[0]
        key = [(f.fn, f.file, f.line) for f in frames]
        for i, f in enumerate(frames):
            if not f.is_interpreter:
                return tuple(key[:i + 1])
        for i, f in enumerate(frames):
            if f.fn.startswith(_CALL_MACHINERY):
                return tuple(key[:i])
        return tuple(key)

    def caller_frames(self, count=5, limit=15):
        """The frames worth showing: from the first frame past the
        allocator, COUNT of them, or more, up to LIMIT, to reach the first
        frame outside the interpreter and the C library (the extension's
        code, usually).  A thread checker's report starts where the access
        was: a race in the allocator is the allocator's own."""
        return _caller_frames(self.frames, count, limit,
                              skip_allocator=not self.is_thread_error)

    @property
    def is_thread_error(self):
        """A report of Helgrind or DRD."""
        return self.kind in THREAD_KINDS

    def format(self):
        text = f"    {self.kind}: {self.what}{_where(self.caller_frames())}"
        if self.is_thread_error:
            # The other thread's access, and where the memory is: what a
            # race needs to be understood.
            for what, frames in self.aux:
                text += f"\n      {what}" + _where(_caller_frames(
                    frames, 3, skip_allocator="alloc'd" in what),
                    "        ")
        return text


def _caller_frames(frames, count=5, limit=15, skip_allocator=True):
    start = 0
    while (skip_allocator and start < len(frames) - 1
           and frames[start].is_allocator):
        start += 1
    end = min(start + count, len(frames))
    for i in range(start, min(start + limit, len(frames))):
        if not frames[i].is_interpreter:
            end = max(end, i + 1)
            break
    return frames[start:end]


def _where(frames, indent="      "):
    return "".join(f"\n{indent}{'at' if i == 0 else 'by'} {frame}"
                   for i, frame in enumerate(frames))


def _aux(node, stack):
    """[(text, frames)] of what a report says after its first STACK:
    Memcheck's and Helgrind's <auxwhat> and <xauxwhat> (Helgrind's
    conflicting access: "This conflicts with a previous write of size 8
    by thread #2"), each with the <stack> that follows it, if any; DRD's
    other segment of a conflicting access, its start and its end."""
    aux = []
    for child in node:
        if child.tag in ("auxwhat", "xauxwhat"):
            text = (child.text if child.tag == "auxwhat"
                    else child.findtext("text")) or ""
            aux.append((" ".join(text.split()), []))
        elif child.tag == "stack" and child is not stack and aux:
            aux[-1][1].extend(Frame(f) for f in child.iter("frame"))
        elif child.tag in ("other_segment_start", "other_segment_end"):
            frames = [Frame(f) for f in child.iter("frame")]
            if frames:
                aux.append(("Other segment " + child.tag.rsplit("_", 1)[1]
                            + ":", frames))
    return aux


class Log:
    """A Memcheck XML file: findings and markers in order."""

    def __init__(self, path):
        self.path = path
        self.findings = []      # every report, with .test and .phase set
        self.tests = {}         # test id -> end-marker fields (or {})
        self.order = []         # test ids in the order they began
        self.first_use = []     # (tests of a group, its first-use leaks)
        self.unnarrowed = []    # (tests a stopped narrowing left, leaks
                                # that re-runs of them repeated)
        self.finished = False   # the session-end marker was seen
        self.session = {}       # the session-end marker's fields
        self.tool = None        # the tool, as the session-start marker
                                # says (_valgrind.tool())
        self.complete = True    # the XML file was closed properly
        self.suppressions = {}  # suppression name -> times used
        with open(path, encoding="utf-8", errors="replace") as f:
            text = _without_leak_summaries(f.read())
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            # The process died mid-report: read what was written.
            self.complete = False
            root = _parse_truncated(text)
        self._read(root)

    def _read(self, root):
        test = phase = None
        search = None           # the search under way
        searches = []           # every Search, in order
        tags = {}               # tag -> tests given it since the last search
        self.tagged = {}        # tag -> the test that had it last
        errors_seen = set()     # (test, kind, site) of each error
        for node in root:
            if node.tag == "clientmsg":
                event = _marker(node.findtext("text") or "")
                if event is None:
                    continue
                kind = event["event"]
                test, phase, search = None, None, None
                if kind in ("begin", "rerun"):
                    test = event["test"]
                    phase = "run" if kind == "begin" else "rerun"
                    if test not in self.tests:
                        self.tests[test] = {}
                        self.order.append(test)
                    if event.get("tag"):
                        tags.setdefault(event["tag"], []).append(test)
                        self.tagged[event["tag"]] = test
                elif kind == "end":
                    self.tests[event["test"]] = event
                elif kind == "search":
                    search = Search(event["tests"], event.get("rerun", False),
                                    tags, self.tagged,
                                    event.get("forked", False))
                    searches.append(search)
                    tags = {}
                elif kind == "narrowing-stopped":
                    group = [s for s in searches if not s.rerun][-1]
                    group.unresolved = event["tests"]
                elif kind == "session-start":
                    self.tool = event.get("tool")
                elif kind == "session-end":
                    self.finished = True
                    self.session = event
                    phase = "exit"
            elif node.tag == "suppcounts":
                # Not written with -q.
                for pair in node.iter("pair"):
                    self.suppressions[pair.findtext("name")] = int(
                        pair.findtext("count"))
            elif node.tag in ("error", "fatal_signal"):
                finding = Finding(node)
                if finding.is_leak and search is not None:
                    search.records.append(finding)
                    continue
                key = (test, finding.kind, finding.site_key)
                if phase == "rerun" and key in errors_seen:
                    continue    # the same error, when the test ran first
                errors_seen.add(key)
                finding.test, finding.phase = test, phase
                self.findings.append(finding)
        self._place_search_leaks(searches)

    def _place_search_leaks(self, searches):
        seen = set()
        for i, group in enumerate(searches):
            seen.update(r.stack_key for r in group.records)
            if group.rerun or group.forked or not group.records:
                continue
            # The re-runs that narrowed this group follow its search: what a
            # test's re-run leaked is what one run of it leaks.
            confirmed = set()       # (test, site)
            rerun_tests = set()
            repeated = set()        # sites that several tests leaked again
            for rerun in searches[i + 1:]:
                if not rerun.rerun:
                    break
                rerun_tests.update(rerun.tests)
                for record in rerun.records:
                    owner = rerun.owner(record)
                    if owner is not None:
                        confirmed.add((owner, record.site_key))
                        self._add(record, owner, "run")
                    else:           # a half, on the way down
                        repeated.add(record.site_key)
            confirmed_sites = {site for _, site in confirmed}
            first_use, unnarrowed = [], []
            for record in group.records:
                owner = group.owner(record)
                if owner is not None:
                    if (owner, record.site_key) not in confirmed:
                        # Not run again (pytest's last test): its leak;
                        # run again without it: a leak of first use.
                        self._add(record, owner, "first-use"
                                  if owner in rerun_tests else "run")
                elif group.unresolved and record.site_key in repeated:
                    # Narrowing stopped short of the tests that leak here.
                    record.phase = "unnarrowed"
                    unnarrowed.append(record)
                elif record.site_key not in confirmed_sites:
                    first_use.append(record)
            for records, kind, tests in (
                    (first_use, self.first_use, group.tests),
                    (unnarrowed, self.unnarrowed, group.unresolved)):
                for record in records:
                    record.group = tuple(tests)
                # Indirectly lost records alone are the content of definitely
                # lost blocks that a test's record counts (outside_tests()).
                if any(r.kind != "Leak_IndirectlyLost" for r in records):
                    kind.append((tests, records))
        # Memcheck's search at exit repeats what a search reported.  What
        # no search found (a stale pointer kept it until the end) is the
        # leak of the test its number names.
        self.findings = [f for f in self.findings
                         if not (f.is_leak and f.phase == "exit"
                                 and f.stack_key in seen)]
        for f in self.findings:
            if f.is_leak and f.phase == "exit" and f.tag in self.tagged:
                f.test = self.tagged[f.tag]

    def _add(self, finding, test, phase):
        finding.test, finding.phase = test, phase
        self.findings.append(finding)

    def findings_of(self, test):
        """TEST's findings: its errors as they came, then its leak records,
        each definitely lost record before the indirectly lost ones that
        it explains (Memcheck writes them smallest first)."""
        return sorted((f for f in self.findings if f.test == test),
                      key=_report_order)

    def outside_tests(self):
        """The findings that no test explains.  An indirectly lost block
        is the content of a definitely lost one, whose record counts its
        bytes and names the culprit: left to itself (made before the test
        that lost it, a constant of the test module say), it is no finding
        of its own."""
        return [f for f in self.findings if f.test is None
                and f.kind != "Leak_IndirectlyLost"]


class Search:
    """A leak search that ended a group of tests or a re-run of some."""

    def __init__(self, tests, rerun, tags, tagged, forked=False):
        self.tests = tests
        self.rerun = rerun
        self.tags = tags        # tag -> the tests that ran with it
        self.tagged = tagged    # tag -> the test that had it last
        # The search of a forked process before its tests: what it finds
        # the fork lost (CPython's locks, replaced in the child).
        self.forked = forked
        self.records = []
        # The tests that its narrowing neither cleared nor blamed, when it
        # stopped at its budget ("narrowing-stopped").
        self.unresolved = None

    def owner(self, record):
        """The test that allocated RECORD's blocks, if it is known: the one
        test with the record's tag (of an earlier group too, unless this is
        a search after re-runs: their own leaks confirm), or the one test
        searched for."""
        tests = self.tags.get(record.tag, ())
        if not tests and not self.rerun and record.tag in self.tagged:
            tests = [self.tagged[record.tag]]
        if len(tests) == 1:
            return tests[0]
        if len(self.tests) == 1:
            return self.tests[0]
        return None


class Tail:
    """The leak records that a running process's XML log received since the
    previous call (Valgrind writes each report as it happens)."""

    def __init__(self, path, offset=0):
        self.path = path
        self.offset = offset        # where the unread part begins

    def new_leaks(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        end = data.rfind(b"</error>")
        if end < 0:
            return []
        end += len(b"</error>")
        self.offset += end
        leaks = []
        for chunk in re.findall(rb"<error>.*?</error>", data[:end], re.S):
            finding = Finding(ET.fromstring(chunk))
            if finding.is_leak:
                leaks.append(finding)
        return leaks


# The order of a test's findings in its verdict: errors, then the leak
# records that name a culprit, then the content they hold.
_LEAK_ORDER = {"Leak_DefinitelyLost": 1, "Leak_PossiblyLost": 2,
               "Leak_IndirectlyLost": 3, "Leak_StillReachable": 4}


def _report_order(finding):
    return _LEAK_ORDER.get(finding.kind, 0)


def _marker(text):
    text = text.strip()
    if not text.startswith(MARKER):
        return None
    return json.loads(text[len(MARKER):])


# Valgrind 3.26 (XML protocol 6) writes a <leak_summary> after each leak
# search and leaves its <still_reachable> element unclosed (3.27 closes
# it).  Nothing here reads the summaries: they are dropped before parsing.
_LEAK_SUMMARY = re.compile(r"<leak_summary>.*?</leak_summary>\s*", re.S)


def _without_leak_summaries(text):
    return _LEAK_SUMMARY.sub("", text)


def _parse_truncated(text):
    """The complete top-level elements of an XML text cut short."""
    end = max(text.rfind(f"</{tag}>") + len(f"</{tag}>")
              for tag in ("error", "clientmsg", "fatal_signal"))
    body = text[text.find("<valgrindoutput>"):end] if end > 0 else ""
    try:
        return ET.fromstring((body or "<valgrindoutput>") + "</valgrindoutput>")
    except ET.ParseError:
        return ET.fromstring("<valgrindoutput/>")


def leak_summary(findings):
    """'56 bytes definitely lost, 794 bytes indirectly lost', or ''."""
    totals = {}
    for f in findings:
        if f.is_leak:
            totals[f.kind] = totals.get(f.kind, 0) + f.added_bytes
    return ", ".join(f"{totals[k]} bytes {LEAK_KINDS[k]}"
                     for k in LEAK_KINDS if k in totals)
