"""Build one real third-party C extension of extensions.conf for a given
interpreter, with plain gcc, in place in its extracted source tree.

    PYTHON tests/realext/build.py NAME [--python PYTHON]

fetches NAME first (tools/fetch-extension), compiles its C sources with
`gcc -O1 -g -fPIC -shared` and the include paths of PYTHON's sysconfig (an
uninstalled build: its source Include/ and its build directory), and prints
the directory to put on PYTHONPATH.  No setuptools: each recipe below names
the C files, the module they make and the Debian -dev libraries they link
(tools/install-deps installs those).

The build is in place, as `setup.py build_ext --inplace` would do, so that
the package's own test suite, run from its source tree, imports it.  A stamp
next to the module records the interpreter and the command: building again
for the same interpreter is a no-op, for another one a rebuild.
"""

import argparse
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

# name -> how to build it and how to run its suite.
#   sources:   C files, relative to the source tree
#   module:    the extension module's dotted name
#   path:      the directory (relative to the tree) that goes on PYTHONPATH
#   libs:      libraries to link (from Debian's -dev packages)
#   defines:   preprocessor macros, as setup.py defines them
#   suite:     the test runner, "pytest" or "unittest"
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


def interpreter_config(python):
    code = ("import json, sysconfig as s; p = s.get_paths(); "
            "print(json.dumps([p['include'], p['platinclude'], "
            "s.get_config_var('EXT_SUFFIX')]))")
    out = subprocess.run([python, "-c", code], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def build(name, python=DEFAULT_PYTHON):
    """Fetch and build NAME for PYTHON; return (source tree, PYTHONPATH
    directory).  Raises FetchError when the source cannot be had."""
    recipe = RECIPES[name]
    tree = fetch(name)
    include, platinclude, suffix = interpreter_config(python)
    pythonpath = os.path.normpath(os.path.join(tree, recipe["path"]))
    target = os.path.join(pythonpath, *recipe["module"].split(".")) + suffix
    cmd = (["gcc"] + CFLAGS + ["-I" + include, "-I" + platinclude]
           + ["-D" + macro for macro in recipe.get("defines", [])]
           + [os.path.join(tree, s) for s in recipe["sources"]]
           + ["-l" + lib for lib in recipe["libs"]] + ["-o", target])
    stamp = target + ".stamp"
    python_id = [os.path.realpath(python),
                 os.path.getmtime(os.path.realpath(python))]
    wanted = json.dumps({"python": python_id, "cmd": cmd})
    try:
        with open(stamp) as f:
            current = f.read()
    except OSError:
        current = None
    version = pinned()[name]["version"]
    for path, text in recipe.get("generate", {}).items():
        with open(os.path.join(tree, path), "w") as f:
            f.write(text.format(version=version))
    if current != wanted or not os.path.exists(target):
        subprocess.run(cmd, check=True)
        with open(stamp, "w") as f:
            f.write(wanted)
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
