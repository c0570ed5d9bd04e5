"""The composite action (action.yml) and the workflows (.github/workflows/).

Their scripts run here in an environment laid out like a runner's: each step
gets empty GITHUB_OUTPUT, GITHUB_PATH and GITHUB_ENV files and a RUNNER_TEMP,
and what it wrote is read as the runner reads it (name=value lines, or
name<<DELIMITER ... DELIMITER; one directory a line, put first on PATH).
tools/ci-setup installs the already built build/obj (CPYTHON_BUILT) instead
of building; the action's own path builds too.  tools/ci-suite's merge
regenerates tests/suite/README.md from results laid out like downloaded
artifacts, in a copy of the project.  tools/ci-actionlint checks every
workflow and action.yml."""

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import support

TOP = support.TOP
TOOLS = os.path.join(TOP, "tools")
WORKFLOWS = os.path.join(TOP, ".github", "workflows")
# The build under test (build/, or build/cpython-RELEASE/ for make check
# CPYTHON=RELEASE) and its release.
BUILT = os.path.join(support.BUILD, "obj")
RELEASE = platform.python_version()
SHARDS = 40


def read_file_command(path, paths=False):
    """What a runner reads from a step's GITHUB_OUTPUT or GITHUB_ENV file
    ({name: value}; a name given twice: the last), or GITHUB_PATH (a list,
    PATHS).  Raise ValueError on what the runner would reject."""
    with open(path) as f:
        text = f.read()
    if text and not text.endswith("\n"):
        raise ValueError("%s: the last line is not ended" % path)
    lines = text.split("\n")[:-1]
    if paths:
        return [line for line in lines if line]
    values = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals > 0 and (heredoc < 0 or equals < heredoc):
            values[line[:equals]] = line[equals + 1:]
        elif heredoc > 0:
            name, delimiter = line[:heredoc], line[heredoc + 2:]
            if not delimiter:
                raise ValueError("%s: %r has no delimiter" % (path, line))
            try:
                end = lines.index(delimiter, i)
            except ValueError:
                raise ValueError("%s: %r is never closed" % (path, line))
            values[name] = "\n".join(lines[i:end])
            i = end + 1
        else:
            raise ValueError("%s: invalid line %r" % (path, line))
    return values


class Runner:
    """A job's environment on a runner: RUNNER_TEMP, and the PATH that the
    steps' GITHUB_PATH files have grown."""

    def __init__(self, add_cleanup):
        self.tmp = tempfile.mkdtemp()
        add_cleanup(shutil.rmtree, self.tmp, True)
        self.temp = os.path.join(self.tmp, "runner-temp")
        os.mkdir(self.temp)
        self.path = [d for d in os.environ["PATH"].split(os.pathsep)]
        self.steps = 0

    def step(self, args, env=None, timeout=600):
        """Run one step; return (process, outputs, env file, path lines)."""
        self.steps += 1
        files = {}
        for name in ("GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_ENV",
                     "GITHUB_STEP_SUMMARY"):
            files[name] = os.path.join(self.tmp, "%s_%d" % (name.lower(), self.steps))
            open(files[name], "w").close()
        run_env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("CPYTHON", "RUNNER_", "GITHUB_"))
                   and k not in ("PREFIX", "BUILD")}
        run_env.update(files)
        run_env.update({"RUNNER_TEMP": self.temp, "RUNNER_OS": "Linux",
                        "GITHUB_ACTION_PATH": TOP,
                        "PATH": os.pathsep.join(self.path)})
        run_env.update(env or {})
        proc = subprocess.run(args, env=run_env, capture_output=True, text=True,
                              timeout=timeout)
        outputs = read_file_command(files["GITHUB_OUTPUT"])
        added = read_file_command(files["GITHUB_PATH"], paths=True)
        for directory in added:
            self.path.insert(0, directory)
        env_file = read_file_command(files["GITHUB_ENV"])
        self.summary = open(files["GITHUB_STEP_SUMMARY"]).read()
        self.raw_output = open(files["GITHUB_OUTPUT"]).read()
        return proc, outputs, env_file, added


def ci_setup(step):
    return [os.path.join(TOOLS, "ci-setup"), step]


class Plan(unittest.TestCase):
    """tools/ci-setup plan: the inputs checked, the cache named."""

    def plan(self, **env):
        runner = Runner(self.addCleanup)
        proc, outputs, env_file, added = runner.step(ci_setup("plan"), env)
        return runner, proc, outputs, env_file, added

    def test_default_inputs(self):
        runner, proc, outputs, env_file, added = self.plan()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(set(outputs), {"key", "prefix", "build-dir", "cache-paths"})
        prefix = os.path.join(runner.temp, "cpython-valgrind", "3.13.5-gil")
        self.assertEqual(outputs["prefix"], prefix)
        self.assertEqual(outputs["build-dir"], os.path.join(TOP, "build"))
        self.assertEqual(outputs["cache-paths"].split("\n"), [
            os.path.join(TOP, "build", "src"), os.path.join(TOP, "build", "obj"),
            os.path.join(TOP, "build", "python"), prefix])
        self.assertRegex(outputs["key"], r"^cpython-valgrind-[\w.-]+-%s-3\.13\.5-gil-"
                         r"[0-9a-f]{32}$" % re.escape(platform.machine()))
        # One line each, the multi-line value as a heredoc.
        self.assertRegex(runner.raw_output,
                         r"^key=.*\nprefix=.*\nbuild-dir=.*\ncache-paths<<"
                         r"(ghadelimiter_[0-9a-f]{32})\n(.*\n){4}\1\n\Z")
        self.assertEqual((env_file, added), ({}, []))

    def test_tool_cache_prefix(self):
        tool_cache = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tool_cache)
        _, proc, outputs, _, _ = self.plan(RUNNER_TOOL_CACHE=tool_cache)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(outputs["prefix"], os.path.join(
            tool_cache, "cpython-valgrind", "3.13.5-gil"))

    def test_other_release_free_threaded(self):
        _, proc, outputs, _, _ = self.plan(CPYTHON="3.13.15",
                                           CPYTHON_VARIANT="free-threaded",
                                           CPYTHON_PREFIX="/opt/pyvg/")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        build = os.path.join(TOP, "build", "cpython-3.13.15")
        self.assertEqual(outputs["build-dir"], build)
        self.assertEqual(outputs["prefix"], "/opt/pyvg")
        self.assertEqual(outputs["cache-paths"].split("\n"), [
            os.path.join(build, "src"), os.path.join(build, "obj-ft"),
            os.path.join(build, "python-ft"), "/opt/pyvg"])
        self.assertIn("-3.13.15-free-threaded-", outputs["key"])

    def test_key_follows_what_decides_the_build(self):
        keys = {}
        for name, env in [("default", {}), ("same", {"CPYTHON": "3.13.5"}),
                          ("prefix", {"CPYTHON_PREFIX": "/opt/other"}),
                          ("variant", {"CPYTHON_VARIANT": "free-threaded"})]:
            env.setdefault("CPYTHON_PREFIX", "/opt/pyvg")
            _, proc, outputs, _, _ = self.plan(**env)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            keys[name] = outputs["key"]
        self.assertEqual(keys["default"], keys["same"])
        self.assertEqual(len({keys["default"], keys["prefix"], keys["variant"]}), 3)
        # A copy of the project: the same key; an overlay file changed, or a
        # patch: another; a file that the build does not read: the same.
        copy = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, copy)
        for name in ("tools", "patches", "overlay"):
            shutil.copytree(os.path.join(TOP, name), os.path.join(copy, name),
                            ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("source.conf", "Makefile", "README.md"):
            shutil.copy(os.path.join(TOP, name), copy)

        def key():
            runner = Runner(self.addCleanup)
            proc, outputs, _, _ = runner.step(
                [os.path.join(copy, "tools", "ci-setup"), "plan"],
                {"CPYTHON_PREFIX": "/opt/pyvg"})
            self.assertEqual(proc.returncode, 0, proc.stderr)
            return outputs["key"]

        self.assertEqual(key(), keys["default"])
        with open(os.path.join(copy, "README.md"), "a") as f:
            f.write("more\n")
        self.assertEqual(key(), keys["default"])
        with open(os.path.join(copy, "overlay", "Lib", "test", "libregrtest",
                               "valgrind_known.txt"), "a") as f:
            f.write("# more\n")
        changed = key()
        self.assertNotEqual(changed, keys["default"])
        with open(os.path.join(copy, "patches", "3.13", "series"), "a") as f:
            f.write("# more\n")
        self.assertNotIn(key(), (changed, keys["default"]))

    def test_bad_inputs(self):
        for env, message in [
                ({"CPYTHON_VARIANT": "nogil"},
                 "CPYTHON_VARIANT='nogil': expected gil or free-threaded"),
                ({"CPYTHON": "3.12.1"},
                 "CPython 3.12.1 is not a release this series supports"),
                ({"CPYTHON_PREFIX": "pyvg"},
                 "CPYTHON_PREFIX='pyvg': the install prefix must be an absolute path"),
                ({"GITHUB_OUTPUT": ""}, "GITHUB_OUTPUT is not set")]:
            with self.subTest(env=env):
                _, proc, outputs, _, _ = self.plan(**env)
                self.assertEqual(proc.returncode, 1)
                self.assertIn(message, proc.stderr)
                self.assertEqual(outputs, {})


def needs_a_build():
    """Why BUILT cannot be installed from as it is, or None."""
    if not os.access(os.path.join(BUILT, "python"), os.X_OK):
        return "%s is not built (make build)" % os.path.relpath(BUILT, TOP)
    dry = subprocess.run(["make", "-C", BUILT, "-n", "all"], capture_output=True,
                         text=True)
    if dry.returncode != 0 or re.search(r"^\s*(gcc|cc|clang)\s", dry.stdout, re.M):
        return ("%s is not up to date (make build): it is not rebuilt here"
                % os.path.relpath(BUILT, TOP))
    return None


class Install(unittest.TestCase):
    """tools/ci-setup install and self-check: a working interpreter on PATH,
    from the built tree (make install into the prefix, without pip)."""

    @classmethod
    def setUpClass(cls):
        reason = needs_a_build()
        if reason:
            raise unittest.SkipTest(reason)
        cls.runner = Runner(cls.addClassCleanup)
        proc, cls.plan, _, _ = cls.runner.step(ci_setup("plan"), {"CPYTHON": RELEASE})
        assert proc.returncode == 0, proc.stderr
        started = time.monotonic()
        cls.proc, cls.outputs, cls.env_file, cls.added = cls.runner.step(
            ci_setup("install"), {"CPYTHON": RELEASE, "CPYTHON_BUILT": BUILT,
                                  "CPYTHON_PREFIX": cls.plan["prefix"]})
        cls.install_seconds = time.monotonic() - started

    def test_installed_on_path(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        prefix = self.plan["prefix"]
        python = os.path.join(prefix, "bin", "python3")
        self.assertEqual(self.outputs, {"python-path": python})
        self.assertEqual(self.added, [os.path.join(prefix, "bin")])
        self.assertEqual(self.env_file, {})
        # A later step finds it as python3 on PATH.
        proc, _, _, _ = self.runner.step(
            ["sh", "-c", 'command -v python3; python3 -c "import sys, _valgrind; '
             'print(sys.prefix); print(_valgrind.mode())"'])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.split(), [python, prefix, "pymalloc"])

    def test_again_is_a_no_op(self):
        started = time.monotonic()
        proc, outputs, _, added = self.runner.step(
            ci_setup("install"), {"CPYTHON": RELEASE, "CPYTHON_BUILT": BUILT,
                                  "CPYTHON_PREFIX": self.plan["prefix"]})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("installed for this key already", proc.stderr)
        self.assertEqual(outputs["python-path"], self.outputs["python-path"])
        self.assertEqual(added, self.added)
        self.assertLess(time.monotonic() - started, self.install_seconds / 2)

    def test_self_check(self):
        proc, outputs, _, _ = self.runner.step(
            ci_setup("self-check"), {"CPYTHON": RELEASE,
                                     "CPYTHON_PREFIX": self.plan["prefix"]})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("natively: _valgrind.mode() = pymalloc", proc.stdout)
        self.assertRegex(proc.stdout, r"under valgrind-[\d.]+: running_on_valgrind\(\), "
                                      r"tool\(\), mode\(\) = 1 memcheck malloc")
        self.assertEqual(outputs, {})


class SelfCheck(unittest.TestCase):
    """tools/ci-setup self-check on an interpreter in a prefix of its own
    (a link to the build's)."""

    def prefix_with(self, python):
        prefix = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, prefix)
        os.mkdir(os.path.join(prefix, "bin"))
        os.symlink(python, os.path.join(prefix, "bin", "python3"))
        return prefix

    @unittest.skipUnless(os.path.exists(os.path.join(support.BUILD, "obj-ft", "python")),
                         "no free-threaded build (make build-ft)")
    def test_free_threaded_is_in_pool_mode(self):
        prefix = self.prefix_with(os.path.join(support.BUILD, "obj-ft", "python"))
        proc, _, _, _ = Runner(self.addCleanup).step(
            ci_setup("self-check"), {"CPYTHON": RELEASE, "CPYTHON_PREFIX": prefix,
                                     "CPYTHON_VARIANT": "free-threaded"})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("mode() = 1 memcheck pool", proc.stdout)

    def test_wrong_variant_is_found(self):
        # The GIL build given as the free-threaded one: not in pool mode.
        prefix = self.prefix_with(os.path.join(support.BUILD, "obj", "python"))
        proc, _, _, _ = Runner(self.addCleanup).step(
            ci_setup("self-check"), {"CPYTHON": RELEASE, "CPYTHON_PREFIX": prefix,
                                     "CPYTHON_VARIANT": "free-threaded"})
        self.assertEqual(proc.returncode, 1)
        self.assertIn("under Memcheck the series should say '1 memcheck pool', "
                      "not '1 memcheck malloc'", proc.stderr)

    def test_not_this_series_fails(self):
        # An interpreter without the series: the check says so.
        prefix = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, prefix)
        os.mkdir(os.path.join(prefix, "bin"))
        with open(os.path.join(prefix, "bin", "python3"), "w") as f:
            f.write('#!/bin/sh\nexec %s -c "import _no_such_module"\n' % sys.executable)
        os.chmod(os.path.join(prefix, "bin", "python3"), 0o755)
        proc, _, _, _ = Runner(self.addCleanup).step(ci_setup("self-check"),
                                                     {"CPYTHON_PREFIX": prefix})
        self.assertEqual(proc.returncode, 1)
        self.assertIn("cannot import _valgrind: not a build of this series", proc.stderr)


def project_copy(test, names):
    """A copy of the project's files NAMES (paths under TOP) in a directory
    of its own."""
    copy = tempfile.mkdtemp()
    test.addCleanup(shutil.rmtree, copy)
    for name in names:
        source, target = os.path.join(TOP, name), os.path.join(copy, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.isdir(source):
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    return copy


class SuiteWorkflow(unittest.TestCase):
    """tools/ci-suite, which the 40 jobs of suite.yml and its last job run."""

    TABLE_FILES = ["Makefile", "source.conf", "tools/lib.sh", "tools/ci-suite",
                   "tools/valgrindtest-all", "tests/suite/README.md",
                   "tests/suite/results",
                   "overlay/Lib/test/libregrtest/valgrind_known.txt",
                   "overlay/Lib/memcheck/known.py"]

    def setUp(self):
        self.copy = project_copy(self, self.TABLE_FILES)
        results = os.path.join(TOP, "tests", "suite", "results")
        self.recorded = sorted(f for f in os.listdir(results)
                               if re.fullmatch(r"shard-\d+\.json", f))
        # The artifacts as actions/download-artifact lays them out: a
        # directory per artifact (merge-multiple puts them in one: both do).
        self.artifacts = os.path.join(self.copy, "artifacts")
        for name in self.recorded:
            directory = os.path.join(self.artifacts, "suite-" + name[:-5])
            os.makedirs(directory)
            shutil.copy(os.path.join(results, name), directory)
        # python3: the merge job's own; here, this interpreter.
        bindir = os.path.join(self.copy, "bin")
        os.mkdir(bindir)
        os.symlink(sys.executable, os.path.join(bindir, "python3"))
        self.runner = Runner(self.addCleanup)
        self.runner.path.insert(0, bindir)

    def merge(self):
        return self.runner.step([os.path.join(self.copy, "tools", "ci-suite"),
                                 "merge", self.artifacts])

    def read(self, *path):
        with open(os.path.join(self.copy, *path)) as f:
            return f.read()

    def test_merge_regenerates_the_same_table(self):
        self.assertEqual(len(self.recorded), SHARDS)
        proc, outputs, _, _ = self.merge()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(TOP, "tests", "suite", "README.md")) as f:
            self.assertEqual(self.read("tests", "suite", "README.md"), f.read(),
                             "the merged artifacts give another table")
        self.assertIn("Shards recorded: %d of %d;" % (SHARDS, SHARDS),
                      self.runner.summary)
        self.assertEqual(outputs, {})

    def test_merge_with_a_shard_missing_and_one_changed(self):
        shutil.rmtree(os.path.join(self.artifacts, "suite-shard-40"))
        path = os.path.join(self.artifacts, "suite-shard-01", "shard-01.json")
        with open(path) as f:
            record = json.load(f)
        record["exit_status"] = 7
        with open(path, "w") as f:
            json.dump(record, f)
        proc, _, _, _ = self.merge()
        self.assertEqual(proc.returncode, 1)
        self.assertIn("no result for shard(s) 40 of 40: the table has the others",
                      proc.stderr)
        table = self.read("tests", "suite", "README.md")
        self.assertIn("Shards recorded: 39 of 40;", table)
        self.assertRegex(table, r"\n\| 1/40 \|[^\n]*\| 7 \|")
        self.assertNotIn("| 40/40 |", table)
        self.assertFalse(os.path.exists(os.path.join(
            self.copy, "tests", "suite", "results", "shard-40.json")))

    def test_merge_refuses_a_wrong_result(self):
        path = os.path.join(self.artifacts, "suite-shard-02", "shard-02.json")
        with open(path, "w") as f:
            json.dump({"shard": "3/40", "files": []}, f)
        before = self.read("tests", "suite", "README.md")
        proc, _, _, _ = self.merge()
        self.assertEqual(proc.returncode, 1)
        self.assertIn("the result of shard '3/40', not 2/40", proc.stderr)
        self.assertEqual(self.read("tests", "suite", "README.md"), before)
        self.assertEqual(len(os.listdir(os.path.join(
            self.copy, "tests", "suite", "results"))), SHARDS)

    def valgrindtest_all(self, *args):
        return subprocess.run([sys.executable, os.path.join(
            self.copy, "tools", "valgrindtest-all"), *args],
            capture_output=True, text=True, timeout=120)

    def test_bad_known_line_stops_it(self):
        # valgrind_known.txt is read by memcheck.known, as regrtest
        # --valgrind reads it: a line that is not an entry is an error.
        known = os.path.join(self.copy, "overlay", "Lib", "test",
                             "libregrtest", "valgrind_known.txt")
        with open(known) as f:
            lines = f.read().count("\n")
        with open(known, "a") as f:
            f.write("test_os.T.test_x  cpython-bug\n")
        before = self.read("tests", "suite", "README.md")
        for action in ("table", "run"):
            with self.subTest(action=action):
                proc = self.valgrindtest_all(action)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn("valgrindtest-all: %s:%d: expected 'TEST  "
                              "CATEGORY" % (known, lines + 1), proc.stderr)
        self.assertEqual(self.read("tests", "suite", "README.md"), before)

    def test_reads_the_results_of_regrtest(self):
        # A shard's record is made of the result regrtest --valgrind wrote
        # for each file (PYTHONMEMCHECKRESULTS), not of its log's lines.
        directory = os.path.join(self.copy, "build", "suite", "shard-01")
        os.makedirs(directory)
        base = {"load_avg": 1.5, "session_finished": True, "errors": 0,
                "leaked_bytes": 0, "known_findings": 0, "failed_cases": {},
                "memcheck": [], "wall_seconds": 10.0}
        results = {
            "test_a": {"state": "PASSED", "state_text": "passed"},
            "test_b": {"state": "FAILED", "state_text": "failed",
                       "leaked_bytes": 40, "load_avg": 2.5,
                       "memcheck": ["Memcheck: test_b: 40 bytes definitely lost"]},
            "test_c": {"state": "SKIPPED", "state_text": "skipped"},
            "test_d": {"state": None, "state_text": "", "wall_seconds": 100.0},
            "test_e": {"state": None, "state_text": "", "wall_seconds": 99.0},
        }
        for test, fields in results.items():
            with open(os.path.join(directory, test + ".json"), "w") as f:
                json.dump(dict(base, test=test, **fields), f)
        with open(os.path.join(self.copy, "build", "suite", "shard-01.log"),
                  "w") as f:
            f.write("0:00:10 load avg: 9.00 [1/6] test_c skipped\n"
                    "test_c skipped -- Windows only\n"
                    "== Tests result: FAILURE ==\n")
        record = {"shard": "1/40", "wall_seconds": 1, "exit_status": 2,
                  "result": "FAILURE", "files": [{"test": t} for t in
                                                 list(results) + ["test_f"]]}
        with open(os.path.join(self.copy, "tests", "suite", "results",
                               "shard-01.json"), "w") as f:
            json.dump(record, f)
        proc = self.valgrindtest_all("reparse", "--only", "1",
                                     "--timeout", "100")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(os.path.join(self.copy, "tests", "suite", "results",
                               "shard-01.json")) as f:
            record = json.load(f)
        self.assertEqual(record["files_from"], "results")
        files = {f["test"]: f for f in record["files"]}
        self.assertEqual({t: f["verdict"] for t, f in files.items()},
                         {"test_a": "clean", "test_b": "leaks",
                          "test_c": "skipped", "test_d": "timeout",
                          "test_e": "crash", "test_f": "not run"})
        self.assertEqual(files["test_b"]["memcheck"],
                         results["test_b"]["memcheck"])
        self.assertEqual(files["test_c"]["output"],
                         ["test_c skipped -- Windows only"])
        self.assertEqual(files["test_a"]["wall_seconds"], 10.0)
        self.assertIn("| test_c | 1 | 0 | 10 s | skipped | Windows only |",
                      self.read("tests", "suite", "README.md"))

    def test_shard_runs_the_local_command(self):
        # make valgrindtest-all itself runs for hours: a stand-in target
        # records its arguments and writes what it would.
        with open(os.path.join(self.copy, "Makefile"), "w") as f:
            f.write("valgrindtest-all:\n"
                    "\techo '$(SHARDS) $(FORCE) $(PREFIX)' > made\n"
                    "\tmkdir -p build/suite\n"
                    "\techo '{\"shard\": \"7/40\"}' > tests/suite/results/shard-07.json\n"
                    "\techo '<testsuites/>' > build/suite/shard-07.xml\n"
                    "\techo log > build/suite/shard-07.log\n")
        proc, outputs, _, _ = self.runner.step(
            [os.path.join(self.copy, "tools", "ci-suite"), "shard", "7"],
            {"PREFIX": "/opt/pyvg"})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.read("made").split(), ["7", "1", "/opt/pyvg"])
        directory = os.path.join(self.runner.temp, "suite-shard-07")
        self.assertEqual(outputs, {"name": "suite-shard-07", "dir": directory})
        self.assertEqual(sorted(os.listdir(directory)),
                         ["shard-07.json", "shard-07.log", "shard-07.xml"])

    def test_shard_that_records_nothing_fails(self):
        with open(os.path.join(self.copy, "Makefile"), "w") as f:
            f.write("valgrindtest-all:\n\tmkdir -p build/suite\n"
                    "\techo log > build/suite/shard-07.log\n\texit 2\n")
        proc, outputs, _, _ = self.runner.step(
            [os.path.join(self.copy, "tools", "ci-suite"), "shard", "7"])
        self.assertEqual(proc.returncode, 1)
        self.assertIn("shard 7/40 recorded no result (make exit status 2", proc.stderr)
        # The log still goes up with the artifact.
        self.assertEqual(os.listdir(outputs["dir"]), ["shard-07.log"])


def actionlint(*files):
    proc = subprocess.run([os.path.join(TOOLS, "ci-actionlint"), *files],
                          capture_output=True, text=True, timeout=600, cwd=TOP)
    if proc.returncode == 3 and not (shutil.which("node") and shutil.which("npm")):
        raise unittest.SkipTest(proc.stderr.strip())
    return proc


def yaml_of(path):
    """A YAML file as Python values, read by the yaml package that
    tools/ci-actionlint installs."""
    actionlint(os.devnull)      # installs it
    script = ('const Y = require(process.argv[1]); const fs = require("fs");'
              'console.log(JSON.stringify(Y.parse(fs.readFileSync(process.argv[2], "utf8"))))')
    out = subprocess.run(["node", "-e", script,
                          os.path.join(TOP, "build", "actionlint", "yaml"), path],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


class Actionlint(unittest.TestCase):

    def test_workflows_and_action(self):
        files = sorted(os.listdir(WORKFLOWS))
        self.assertEqual(files, ["check.yml", "suite.yml"])
        proc = actionlint()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("3 file(s), 0 problem(s)", proc.stdout)

    def test_example_workflow(self):
        # The workflow that examples/extension-ci shows extension authors.
        example = os.path.join(TOP, "examples", "extension-ci", "memcheck.yml")
        proc = actionlint(example)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("1 file(s), 0 problem(s)", proc.stdout)
        steps = yaml_of(example)["jobs"]["memcheck"]["steps"]
        self.assertTrue(any(s.get("uses", "").split("@")[0].endswith(
            "/cpython-valgrind") for s in steps))
        commands = " ".join(s.get("run", "") for s in steps)
        self.assertIn("-m memcheck -j0 --shard", commands)
        self.assertIn("--junit-xml", commands)

    def test_problems_are_found(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        workflow = os.path.join(tmp, "broken.yml")
        with open(WORKFLOWS + "/suite.yml") as f:
            text = f.read()
        with open(workflow, "w") as f:
            f.write(text.replace("matrix.shard }}", "matrix.shards }}", 1)
                        .replace("if-no-files-found:", "if-no-file-found:"))
        action = os.path.join(tmp, "action.yml")
        with open(os.path.join(TOP, "action.yml")) as f:
            text = f.read()
        with open(action, "w") as f:
            f.write(text.replace("    - name: Install the build dependencies (apt)\n"
                                 "      shell: bash\n",
                                 "    - name: Install the build dependencies (apt)\n")
                        .replace("using: composite", "using: node20"))
        proc = actionlint(workflow, action)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertRegex(proc.stdout, r'broken\.yml:\d+:\d+: property "shards" is '
                                      r'not defined')
        self.assertRegex(proc.stdout, r'broken\.yml:\d+:\d+: input "if-no-file-found" '
                                      r'is not defined in action "actions/upload-artifact@v4"')
        self.assertRegex(proc.stdout, r'action\.yml:\d+:\d+: runs\.using must be "composite"')
        self.assertRegex(proc.stdout, r'action\.yml:\d+:\d+: runs\.steps\[1\] runs a '
                                      r'command without "shell"')
        # An expression of the action's steps, at its line in action.yml.
        with open(action, "w") as f:
            f.write(text.replace("key: ${{ steps.plan.outputs.key }}",
                                 "key: ${{ steps.plam.outputs.key }}"))
        line = text[:text.index("steps.plan.outputs.key")].count("\n") + 1
        proc = actionlint(action)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertRegex(proc.stdout, r'action\.yml:%d:\d+: property "plam" is not '
                                      r'defined' % line)


class Layout(unittest.TestCase):
    """What the action and the workflows run is the project's own scripts."""

    def test_action_steps_are_one_command_each(self):
        action = yaml_of(os.path.join(TOP, "action.yml"))
        self.assertEqual(set(action["inputs"]), {"cpython-version", "variant", "prefix"})
        self.assertEqual(set(action["outputs"]), {"python-path", "prefix"})
        runs = [s["run"] for s in action["runs"]["steps"] if "run" in s]
        self.assertEqual(runs, ['"$GITHUB_ACTION_PATH/tools/ci-setup" plan',
                                '"$GITHUB_ACTION_PATH/tools/install-deps"',
                                '"$GITHUB_ACTION_PATH/tools/ci-setup" install',
                                '"$GITHUB_ACTION_PATH/tools/ci-setup" self-check'])
        uses = [s["uses"] for s in action["runs"]["steps"] if "uses" in s]
        self.assertEqual(uses, ["actions/cache@v4"])

    def test_suite_matrix_is_the_local_shards(self):
        suite = yaml_of(os.path.join(WORKFLOWS, "suite.yml"))
        self.assertEqual(set(suite["on"]), {"schedule", "workflow_dispatch"})
        jobs = suite["jobs"]
        self.assertEqual(jobs["shard"]["strategy"]["matrix"]["shard"],
                         list(range(1, SHARDS + 1)))
        with open(os.path.join(TOOLS, "valgrindtest-all")) as f:
            self.assertIn("\nSHARDS = %d\n" % SHARDS, f.read())
        runs = [s.get("run") for job in jobs.values() for s in job["steps"]]
        self.assertIn('tools/ci-suite shard "$SHARD"', runs)
        self.assertIn('tools/ci-suite merge "$SHARDS_DIR"', runs)

    def test_check_runs_the_projects_ci(self):
        check = yaml_of(os.path.join(WORKFLOWS, "check.yml"))
        self.assertIn("push", check["on"])
        self.assertEqual(check["jobs"]["check"]["steps"][-1]["run"], ".ci/run")


if __name__ == "__main__":
    unittest.main()
