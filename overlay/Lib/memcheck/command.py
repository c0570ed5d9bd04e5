"""Valgrind command lines.  Every process that this package, regrtest's
--valgrind and the project's tests and tools start under Valgrind gets its
command line from valgrind_command(); the option lists are stated here once.

A per-test verdict runs under Memcheck by default, or under one of the
thread checkers, Helgrind or DRD (VERDICT_TOOLS; verdict_tool()): their
options check no leaks (THREAD_VERDICT_OPTIONS).
"""

import os
import shlex
import sysconfig

# The options of a per-test verdict ("python -m memcheck", regrtest
# --valgrind): every leak kind but "still reachable" is a finding, as in the
# leak-gating command below (each object is announced to Memcheck at its
# PyObject address, so "possibly lost" comes only from an extension's own
# interior pointers).  Memcheck records the stack of every allocation, and
# unwinding costs: 30 frames instead of Valgrind's 12 make an allocating
# loop 15% slower.  20 reach the extension's frame in the suites we
# measured, past malloc mode's frames (allocator and test tag).
def _suppression_files(own="system.supp"):
    """OWN, this package's suppressions for the tool (system.supp: the C
    library's memory that Memcheck's searches in the middle of a run see;
    threads.supp: what Helgrind and DRD cannot see synchronised), and
    CPython's Misc/valgrind-python.supp (other system libraries': libtcl,
    libobjc) where the source tree is at hand."""
    files = [os.path.join(os.path.dirname(__file__), own)]
    srcdir = sysconfig.get_config_var("srcdir")
    if srcdir:
        misc = os.path.join(srcdir, "Misc", "valgrind-python.supp")
        if os.path.exists(misc):
            files.append(misc)
    return files


VERDICT_OPTIONS = (
    "--leak-check=full",
    "--show-leak-kinds=definite,indirect,possible",
    "--errors-for-leak-kinds=definite,indirect,possible",
    "--num-callers=20",
    *("--suppressions=" + path for path in _suppression_files()),
)

# The options of a per-test verdict under a thread checker, Helgrind or
# DRD: every error is a finding (a data race, a misuse of a lock); they
# check no leaks and reject Memcheck's options.  Helgrind's default
# --history-level=full names the conflicting access of each race.
THREAD_VERDICT_OPTIONS = (
    "--num-callers=20",
    *("--suppressions=" + path for path in _suppression_files("threads.supp")),
)

# DRD merges its segments (what a thread accessed between two
# synchronisations) every 10 new segments by default, a pass over all of
# them.  Merging too seldom costs more: ordered segments are discarded only
# then, and every free() and stack unwind clears its range in each segment
# kept.  CPU seconds under DRD by interval (10 / 100 / 1000):
# tests/threads/more_threads.py, 40 rounds on the free-threaded build,
# 61 / 11 / 17, and 400 rounds, 87 / 28-48 / 443; the racy extension of
# tests/test_thread_verdicts.py under regrtest on the GIL build,
# 5.3 / 6.1 / 277.  Merging finds no race.
DRD_VERDICT_OPTIONS = ("--segment-merging-interval=100",)

# The tools of a per-test verdict, the first the default; the thread
# checkers among them.
VERDICT_TOOLS = ("memcheck", "helgrind", "drd")
THREAD_TOOLS = ("helgrind", "drd")

# The tool of "python -m memcheck" (its --tool) and regrtest's --valgrind.
TOOL_ENV = "PYTHONMEMCHECKTOOL"

# The options of a leak-gating CI job: every leak kind but "still
# reachable" is an error, and an error makes Valgrind exit with status 99.
# Correct code passes with exactly these.
MEMCHECK_GATE = (
    "--leak-check=full",
    "--show-leak-kinds=definite,indirect,possible",
    "--errors-for-leak-kinds=definite,indirect,possible",
    "--error-exitcode=99",
)

# Extra Valgrind options, as a shell-quoted string, for both regrtest's
# --valgrind and "python -m memcheck".
OPTIONS_ENV = "PYTHONMEMCHECKOPTS"

# The tools that write a profile into a file of their own.
OUT_FILE_TOOLS = ("callgrind", "cachegrind", "massif", "dhat")


def valgrind_command(argv, options=(), *, tool=None, xml_file=None,
                     log_file=None, out_file=None, quiet=False):
    """The command that runs ARGV (a program and its arguments) under
    Valgrind: TOOL (Valgrind's default, Memcheck, when None), then OPTIONS,
    then the output files, which OPTIONS cannot redirect:

    XML_FILE: Memcheck's reports as XML (read them with memcheck.report).
    Children that the program forks are then silent, since they would
    write into the same file, unless its name holds %p (the process id):
    each then writes a file of its own.  LOG_FILE: Valgrind's text output.
    OUT_FILE: the profile of a tool that writes one (Callgrind, ...).
    QUIET: -q, only errors.  (Not with XML_FILE when the suppression counts
    are wanted: -q leaves them out of the XML.)"""
    cmd = ["valgrind"]
    if tool is not None:
        cmd.append("--tool=" + tool)
    if quiet:
        cmd.append("-q")
    cmd += options
    if xml_file is not None:
        if "%p" not in xml_file:
            cmd.append("--child-silent-after-fork=yes")
        cmd += ["--xml=yes", "--xml-file=" + xml_file]
    if log_file is not None:
        cmd.append("--log-file=" + log_file)
    if out_file is not None:
        if tool not in OUT_FILE_TOOLS:
            raise ValueError(f"{tool} writes no profile of its own")
        cmd.append(f"--{tool}-out-file={out_file}")
    return cmd + list(argv)


def verdict_tool(tool=None):
    """The tool of a per-test verdict: TOOL if given, else the one that
    PYTHONMEMCHECKTOOL names, else Memcheck.  Raise ValueError for a tool
    that gives no verdicts."""
    tool = tool or os.environ.get(TOOL_ENV) or VERDICT_TOOLS[0]
    if tool not in VERDICT_TOOLS:
        raise ValueError(f"no per-test verdicts under tool {tool!r}: the "
                         f"tools are {', '.join(VERDICT_TOOLS)}")
    return tool


def tool_title(tool):
    """'Memcheck', 'Helgrind', 'DRD': the tool as reports name it."""
    return "DRD" if tool == "drd" else (tool or "memcheck").capitalize()


def verdict_command(argv, xml_file, extra_options=(), tool="memcheck"):
    """The command of a per-test verdict: ARGV under TOOL (Memcheck, or a
    thread checker), with VERDICT_OPTIONS (THREAD_VERDICT_OPTIONS, and
    DRD_VERDICT_OPTIONS under DRD), then PYTHONMEMCHECKOPTS, then
    EXTRA_OPTIONS, and XML output to XML_FILE."""
    options = (THREAD_VERDICT_OPTIONS if tool in THREAD_TOOLS
               else VERDICT_OPTIONS)
    if tool == "drd":
        options += DRD_VERDICT_OPTIONS
    user = shlex.split(os.environ.get(OPTIONS_ENV, ""))
    return valgrind_command(argv, [*options, *user, *extra_options],
                            tool=tool, xml_file=xml_file)
