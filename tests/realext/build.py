"""Build one real third-party C or Cython extension of extensions.conf for
a given interpreter, with plain gcc, in place in its extracted source tree.

    PYTHON tests/realext/build.py NAME [--python PYTHON]

fetches NAME first (tools/fetch-extension), compiles its C sources with
`gcc -O1 -g -fPIC -shared` and the include paths of PYTHON's sysconfig (an
uninstalled build: its source Include/ and its build directory), and prints
the directory to put on PYTHONPATH.  No setuptools: each recipe below names
the C files, the module they make and the Debian -dev libraries they link
(tools/install-deps installs those).

A Cython recipe names .pyx (or .py) files instead: each is translated to C
(C++ for `cplus`) next to itself by the Cython of extensions.conf (`cython`),
run from its extracted tree by PYTHON (pure-Python mode, nothing installed),
then compiled the same way into a module of its own (g++ for C++).  The
translation does not depend on the interpreter: the generated file is shared
by the builds for build/python and build/python-ft (their modules differ by
EXT_SUFFIX, side by side).

The build is in place, as `setup.py build_ext --inplace` would do, so that
the package's own test suite, run from its source tree, imports it.  A stamp
next to the module records the interpreter and the command: building again
for the same interpreter is a no-op, for another one a rebuild.  A stamp
next to a generated C file records Cython's tarball and its command.
"""

import argparse
import concurrent.futures
import fcntl
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CONF = os.path.join(HERE, "extensions.conf")
FETCH = os.path.join(TOP, "tools", "fetch-extension")
DEFAULT_PYTHON = os.path.join(TOP, "build", "python")

CFLAGS = ["-O1", "-g", "-fPIC", "-shared"]

# The name, in extensions.conf, of the Cython that translates .pyx files.
CYTHON = "cython"

# name -> how to build it and how to run its suite.
#   sources:   C files, relative to the source tree
#   module:    the extension module's dotted name
#   path:      the directory (relative to the tree) that goes on PYTHONPATH
#   libs:      libraries to link (from Debian's -dev packages)
#   defines:   preprocessor macros, as setup.py defines them
#   suite:     the test runner, "pytest" or "unittest"
# A Cython recipe has, instead of sources and module:
#   cython:    .pyx or .py files, relative to the source tree, each made a
#              module (its dotted name: its path relative to `path`)
#   cplus:     translate to C++ (Cython's --cplus) and compile with g++
#   directives: Cython compiler directives (-X NAME=VALUE), as the package's
#              setup.py or pyproject.toml gives them
RECIPES = {
    # Single-phase init (PyModule_Create); the Markup class is imported in
    # the first call and kept in a C static (`static PyObject *markup`).
    "markupsafe": dict(sources=["src/markupsafe/_speedups.c"],
                       module="markupsafe._speedups", path="src",
                       libs=[], suite="pytest"),
    # Multi-phase init (Py_mod_exec) with module state; four heap types from
    # PyType_FromModuleAndSpec, two of them with heap-type bases
    # (CIMultiDict(MultiDict), CIMultiDictProxy(MultiDictProxy)).
    "multidict": dict(sources=["multidict/_multidict.c"],
                      module="multidict._multidict", path=".",
                      libs=[], suite="pytest"),
    # Wraps a C library: Debian's libxxhash (not the copy in deps/).
    # Single-phase init, static PyTypeObjects.
    "xxhash": dict(sources=["src/_xxhash.c"], module="xxhash._xxhash",
                   path=".", libs=["xxhash"], suite="unittest",
                   generate={"xxhash/version.py":
                             'VERSION = "{version}"\n'
                             'VERSION_TUPLE = tuple(map(int, VERSION.split(".")))\n'}),
    # Single-phase init, static PyTypeObjects; the trie's nodes are C
    # structs in PyMem_ memory that hold Python objects (the values of
    # add_word()): objects held from heap memory that is no Python object.
    "ahocorasick": dict(sources=["pyahocorasick.c"], module="ahocorasick",
                        path=".", libs=[], defines=["AHOCORASICK_UNICODE"],
                        suite="unittest"),
    # Multi-phase init (Py_mod_exec) with module state (yajl2_state) and
    # a dozen heap types; wraps a C library: Debian's libyajl (not the copy
    # in cextern/).  Its tests parametrise a fixture over the backends.
    "ijson": dict(sources=["src/ijson/backends/ext/_yajl2/%s.c" % f for f in (
                      "async_reading_generator", "basic_parse",
                      "basic_parse_async", "basic_parse_basecoro",
                      "coro_utils", "items", "items_async", "items_basecoro",
                      "kvitems", "kvitems_async", "kvitems_basecoro",
                      "module", "parse", "parse_async", "parse_basecoro",
                      "reading_generator")],
                  module="ijson.backends._yajl2", path="src", libs=["yajl"],
                  suite="pytest"),
    # Cython, C++: one cdef class (FrozenList) with an object field (a
    # list) and a C++ std::atomic[bint] field; rich comparisons, __hash__,
    # __class_getitem__; freethreading_compatible (no GIL on python-ft).
    "frozenlist": dict(cython=["frozenlist/_frozenlist.pyx"], path=".",
                       cplus=True, directives=["embedsignature=True"],
                       libs=[], suite="pytest"),
    # Cython, C: two cdef classes that are descriptors (cached_property,
    # under_cached_property) with object fields (the wrapped function, its
    # name, its docstring), caching into the instance's dict or a
    # dict attribute; freethreading_compatible.
    "propcache": dict(cython=["src/propcache/_helpers_c.pyx"], path="src",
                      directives=["embedsignature=True"], libs=[],
                      suite="pytest"),
    # Cython, C: falcon's own .pyx (falcon.cyutil: a cdef class
    # BufferedReader with object fields and C buffers, URI decoding on
    # C strings) and a part of its pure-Python modules translated by
    # Cython, as falcon 3 did for all of them (setup.py still lists them):
    # Python classes with __slots__ and properties (Request), exception
    # hierarchies (errors, http_error), MutableMapping subclasses
    # (util.structures), closures and decorators (util.misc), generators
    # and async generators (media.multipart).  14 of the 36 modules that
    # falcon 3 translated: all 35 but routing.compiled pass the suite
    # natively (3908 passed); routing.compiled fails at import (Cython
    # 3.1.6 subscripts the builtin `type` in `UserDict[str,
    # type[...]]` without CPython's special case: "'type' object is not
    # subscriptable").  Not freethreading_compatible: on python-ft,
    # importing them enables the GIL (a RuntimeWarning).
    "falcon": dict(cython=["falcon/cyutil/%s.pyx" % m
                           for m in ("misc", "reader", "uri")]
                   + ["falcon/%s.py" % m for m in (
                       "errors", "http_error", "forwarded", "request",
                       "media/json", "media/multipart", "media/urlencoded",
                       "routing/converters", "routing/util",
                       "util/misc", "util/structures")],
                   path=".", directives=["language_level=3",
                                         "annotation_typing=False"],
                   libs=[], suite="pytest"),
}


def pinned():
    """The entries of extensions.conf: name -> dict of its columns."""
    entries = {}
    with open(CONF) as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if fields:
                name, package, suite, version, tarball, sha256 = fields
                entries[name] = dict(name=name, package=package, suite=suite,
                                     version=version, tarball=tarball,
                                     sha256=sha256)
    return entries


class FetchError(Exception):
    """tools/fetch-extension failed: its message says why."""


def fetch(name):
    """Run tools/fetch-extension NAME; return the extracted source tree."""
    proc = subprocess.run([FETCH, name], capture_output=True, text=True)
    if proc.returncode:
        raise FetchError(proc.stderr.strip())
    return proc.stdout.strip().splitlines()[-1]


def modules(name):
    """The extension modules of NAME's recipe: (dotted name, source file
    relative to the tree), one for a C recipe, one per file for Cython."""
    recipe = RECIPES[name]
    if "cython" not in recipe:
        return [(recipe["module"], None)]
    return [(os.path.splitext(os.path.relpath(source, recipe["path"]))[0]
             .replace(os.sep, "."), source) for source in recipe["cython"]]


def libraries(name, suffix):
    """The file names of NAME's extension modules for EXT_SUFFIX SUFFIX
    (how Memcheck's frames name their objects)."""
    return [module.rsplit(".", 1)[-1] + suffix for module, _ in modules(name)]


def interpreter_config(python):
    code = ("import json, sysconfig as s; p = s.get_paths(); "
            "print(json.dumps([p['include'], p['platinclude'], "
            "s.get_config_var('EXT_SUFFIX')]))")
    out = subprocess.run([python, "-c", code], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def _stamped(stamp, wanted, target, make):
    """Run MAKE unless STAMP records WANTED and TARGET exists; then record
    WANTED in STAMP."""
    try:
        with open(stamp) as f:
            current = f.read()
    except OSError:
        current = None
    if current != wanted or not os.path.exists(target):
        make()
        with open(stamp, "w") as f:
            f.write(wanted)


def cythonize(python, cython_tree, source, cplus=False, directives=(),
              include=(), options=(), output=None):
    """Translate SOURCE (.pyx or .py, an absolute path) to C or C++ next
    to itself (or to OUTPUT), with the Cython extracted in CYTHON_TREE
    (fetch(CYTHON)) run by PYTHON, unless that was done already with the
    same Cython and options; return the generated file.  INCLUDE:
    directories searched for .pxd files; OPTIONS: more of Cython's."""
    if output is None:
        output = os.path.splitext(source)[0] + (".cpp" if cplus else ".c")
    options = ((["--cplus"] if cplus else []) + list(options)
               + [arg for d in directives for arg in ("-X", d)]
               + [arg for d in include for arg in ("-I", d)])
    cmd = [python, os.path.join(cython_tree, "cython.py"), *options,
           source, "-o", output]
    # Not the interpreter: the translation is the same under every one.
    wanted = json.dumps({"cython": pinned()[CYTHON]["sha256"],
                         "cmd": cmd[1:]})
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def translate():
        # Cython's warnings only with its errors.
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode:
            sys.stderr.write(proc.stdout + proc.stderr)
            proc.check_returncode()
    _stamped(output + ".stamp", wanted, output, translate)
    return output


def compile_module(python, config, sources, target, cplus=False,
                   defines=(), include=(), libs=()):
    """Compile SOURCES (C, or C++ for CPLUS) into the extension module
    TARGET for PYTHON, whose interpreter_config() is CONFIG, unless it was,
    with the same command, from the same sources (a C file that Cython
    generated again is new), for the same build of PYTHON."""
    py_include, py_platinclude, _ = config
    cmd = (["g++" if cplus else "gcc"] + CFLAGS
           + ["-I" + d for d in (py_include, py_platinclude, *include)]
           + ["-D" + macro for macro in defines]
           + list(sources) + ["-l" + lib for lib in libs] + ["-o", target])
    python_id = [os.path.realpath(python),
                 os.path.getmtime(os.path.realpath(python))]
    wanted = json.dumps({"python": python_id, "cmd": cmd,
                         "sources": [os.path.getmtime(s) for s in sources]})
    _stamped(target + ".stamp", wanted, target,
             lambda: subprocess.run(cmd, check=True))


def build(name, python=DEFAULT_PYTHON):
    """Fetch and build NAME for PYTHON; return (source tree, PYTHONPATH
    directory).  Raises FetchError when the source cannot be had.  One
    process at a time per extension (make check's suites build the same
    trees)."""
    lock_dir = os.path.join(TOP, "build", "realext")
    os.makedirs(lock_dir, exist_ok=True)
    with open(os.path.join(lock_dir, f".{name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(name, python)


def _build(name, python):
    recipe = RECIPES[name]
    tree = fetch(name)
    # Before the modules' threads: one fetch of Cython at a time.
    cython_tree = fetch(CYTHON) if "cython" in recipe else None
    config = interpreter_config(python)
    suffix = config[2]
    pythonpath = os.path.normpath(os.path.join(tree, recipe["path"]))
    version = pinned()[name]["version"]
    for path, text in recipe.get("generate", {}).items():
        with open(os.path.join(tree, path), "w") as f:
            f.write(text.format(version=version))
    cplus = recipe.get("cplus", False)

    def build_module(module, source):
        target = os.path.join(pythonpath, *module.split(".")) + suffix
        if source is None:
            sources, include = [os.path.join(tree, s)
                                for s in recipe["sources"]], []
        else:
            source = os.path.join(tree, source)
            include = [os.path.dirname(source), pythonpath]
            sources = [cythonize(python, cython_tree, source, cplus,
                                 recipe.get("directives", ()), [pythonpath])]
        compile_module(python, config, sources, target, cplus,
                       recipe.get("defines", ()), include, recipe["libs"])

    # The modules of a package two at a time (or one a CPU): falcon's
    # fourteen take about a minute of gcc.
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        for future in [pool.submit(build_module, module, source)
                       for module, source in modules(name)]:
            future.result()
    return tree, pythonpath


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=sorted(RECIPES))
    parser.add_argument("--python", default=DEFAULT_PYTHON,
                        help="the interpreter to build for (default: %(default)s)")
    args = parser.parse_args()
    try:
        _, path = build(args.name, args.python)
    except FetchError as e:
        sys.exit(str(e))
    print(path)


if __name__ == "__main__":
    main()
