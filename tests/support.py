"""Helpers shared by the project's tests: build a C extension against the
interpreter under test, and run it under Valgrind with XML output parsed."""

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(TOP, "build")
PYTHON = os.path.join(BUILD, "python")
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
    target = os.path.join(ext_dir, name + suffix)
    if (os.path.exists(target)
            and os.path.getmtime(target) >= os.path.getmtime(source)
            and os.path.getmtime(target) >= os.path.getmtime(python)):
        return ext_dir
    includes = [os.path.join(srcdir, "Include"), builddir]
    cmd = (["gcc", "-shared", "-fPIC", "-O0", "-g", "-Wall", "-Werror"]
           + ["-I" + d for d in includes] + [source, "-o", target])
    subprocess.run(cmd, check=True)
    return ext_dir


# The options of a leak-gating CI job: every leak kind but "still reachable"
# is an error.  Correct code must pass with exactly these.
MEMCHECK_GATE = ["--leak-check=full",
                 "--show-leak-kinds=definite,indirect,possible",
                 "--errors-for-leak-kinds=definite,indirect,possible",
                 "--error-exitcode=99"]


class ValgrindError:
    """One <error> of Valgrind's XML output."""

    def __init__(self, node):
        self.kind = node.findtext("kind")
        self.text = (node.findtext("what")
                     or node.findtext("xwhat/text") or "")
        stack = node.find("stack")
        frames = stack.findall("frame") if stack is not None else []
        self.functions = [f.findtext("fn") or "?" for f in frames]
        self.objects = [f.findtext("obj") or "?" for f in frames]
        self.leaked_bytes = int(node.findtext("xwhat/leakedbytes") or 0)

    def __repr__(self):
        return "<%s %s in %s>" % (self.kind, self.text,
                                  " < ".join(self.functions[:8]))


# The machines set these; CPython's own tests expect them unset
# (test_cmd_line's buffering test and test_compileall fail otherwise).
UNSET_FOR_CPYTHON_TESTS = ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")


def valgrind(args, tool="memcheck", options=(), env=None, unset=(),
             timeout=1800, python=PYTHON):
    """Run build/python ARGS under Valgrind, with ENV added to and the names
    in UNSET removed from the environment.  Return (process, errors), the
    errors parsed from --xml output (Memcheck only).  process.suppcounts maps
    each suppression used to its count."""
    run_env = {k: v for k, v in os.environ.items() if k not in unset}
    run_env.update(env or {})
    with tempfile.TemporaryDirectory() as tmp:
        # Forked children (tests that fork) would write into the same XML.
        cmd = ["valgrind", "--tool=" + tool, "--child-silent-after-fork=yes"]
        xml_file = os.path.join(tmp, "out.xml")
        if tool == "memcheck":
            # Not -q: the XML then omits the suppression counts.
            cmd += ["--xml=yes", "--xml-file=" + xml_file]
        else:
            cmd.append("-q")
        if tool in ("callgrind", "cachegrind", "massif", "dhat"):
            cmd += ["--%s-out-file=%s" % (tool, os.path.join(tmp, "out"))]
        cmd += list(options) + [python] + list(args)
        proc = subprocess.run(cmd, env=run_env, capture_output=True,
                              text=True, timeout=timeout)
        errors = []
        proc.suppcounts = {}
        if tool == "memcheck":
            root = ET.parse(xml_file).getroot()
            errors = [ValgrindError(e) for e in root.findall("error")]
            for pair in root.iter("pair"):
                proc.suppcounts[pair.findtext("name")] = int(pair.findtext("count"))
    return proc, errors
