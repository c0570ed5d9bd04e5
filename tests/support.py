"""Helpers shared by the project's tests: build a C extension against the
interpreter under test, and run it under Valgrind with its XML output read
by memcheck.report.  Run by build/python, whose memcheck package builds the
Valgrind command lines and reads Memcheck's XML for the tests and tools."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

from memcheck.command import MEMCHECK_GATE, OUT_FILE_TOOLS, valgrind_command  # noqa: F401
from memcheck.report import Log

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The interpreter under test is the one that runs the tests: build/python
# (make check), or build/cpython-VERSION/python (make check CPYTHON=VERSION).
PYTHON = sys.executable
BUILD = os.path.dirname(PYTHON)
EXT_DIR = os.path.join(BUILD, "tests", "ext")


def build_extension(source, name, ext_dir=EXT_DIR, python=PYTHON):
    """Compile one C file into an extension module for PYTHON (an
    uninstalled build), with -O0 -g so that Memcheck's stacks keep every
    function.  Return the directory to put on PYTHONPATH."""
    os.makedirs(ext_dir, exist_ok=True)
    srcdir, builddir, suffix = subprocess.run(
        [python, "-c", "import sysconfig as s; print(*(s.get_config_var(v) for v in "
         "('srcdir', 'abs_builddir', 'EXT_SUFFIX')))"],
        check=True, capture_output=True, text=True).stdout.split()
    built = os.path.join(ext_dir, name + suffix)
    if (os.path.exists(built)
            and os.path.getmtime(built) >= os.path.getmtime(source)
            and os.path.getmtime(built) >= os.path.getmtime(python)):
        return ext_dir
    includes = [os.path.join(srcdir, "Include"), builddir]
    cmd = (["gcc", "-shared", "-fPIC", "-O0", "-g", "-Wall", "-Werror"]
           + ["-I" + d for d in includes] + [source, "-o", built])
    subprocess.run(cmd, check=True)
    return ext_dir


def newest_valgrind():
    """build/valgrind-VERSION/bin/valgrind, the Valgrind of valgrind.conf
    (make valgrind-newest), or None where it is not built."""
    with open(os.path.join(TOP, "valgrind.conf")) as f:
        conf = dict(line.strip().split("=", 1) for line in f
                    if "=" in line and not line.startswith("#"))
    path = os.path.join(TOP, "build", "valgrind-" + conf["VALGRIND_VERSION"],
                        "bin", "valgrind")
    return path if os.access(path, os.X_OK) else None


def valgrind_version():
    """The (major, minor) of the valgrind on PATH."""
    out = subprocess.run(["valgrind", "--version"], capture_output=True,
                         text=True, check=True).stdout
    match = re.match(r"valgrind-(\d+)\.(\d+)", out.strip())
    return int(match[1]), int(match[2])


def under_newest_valgrind():
    """Whether the valgrind on PATH is the newest one (tests/run.py runs a
    few suites under it)."""
    newest = newest_valgrind()
    return newest is not None and shutil.which("valgrind") == newest


# The machines set these; CPython's own tests expect them unset
# (test_cmd_line's buffering test and test_compileall fail otherwise).
UNSET_FOR_CPYTHON_TESTS = ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")


def valgrind(args, tool="memcheck", options=(), env=None, unset=(),
             timeout=1800, python=PYTHON):
    """Run PYTHON ARGS (build/python, or any program) under Valgrind, with
    ENV added to and the names in UNSET removed from the environment.
    Return (process, findings): under Memcheck the findings of its XML
    output read by memcheck.report, process.log the whole Log (its
    suppression counts too) and process.xml the XML text; under another
    tool, no findings."""
    run_env = {k: v for k, v in os.environ.items() if k not in unset}
    run_env.update(env or {})
    with tempfile.TemporaryDirectory() as tmp:
        xml_file = out_file = None
        if tool == "memcheck":
            # Not -q: the XML then omits the suppression counts.
            xml_file = os.path.join(tmp, "out.xml")
        elif tool in OUT_FILE_TOOLS:
            out_file = os.path.join(tmp, "out")
        cmd = valgrind_command([python, *args], options, tool=tool,
                               xml_file=xml_file, out_file=out_file,
                               quiet=xml_file is None)
        proc = subprocess.run(cmd, env=run_env, capture_output=True,
                              text=True, timeout=timeout)
        proc.log = proc.xml = None
        if xml_file is None:
            return proc, []
        proc.log = Log(xml_file)
        with open(xml_file, encoding="utf-8", errors="replace") as f:
            proc.xml = f.read()
    if not proc.log.complete:
        raise AssertionError("Valgrind's XML output is cut short (exit "
                             "status %d):\n%s" % (proc.returncode,
                                                   proc.stderr[-3000:]))
    return proc, proc.log.findings
