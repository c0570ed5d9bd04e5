/* _valgrind: what the interpreter knows about running under Valgrind.

   Built in when CPython is configured --with-valgrind.  The decision itself
   lives in Python/valgrind.c; this module reports it, so that tests and
   tools can tell how the process's allocations are served, and gives
   Python code Memcheck's leak search, error count and log markers. */

#ifndef Py_BUILD_CORE_BUILTIN
#  define Py_BUILD_CORE_MODULE 1
#endif

#include "Python.h"
#include "pycore_lock.h"          // PyMutex
#include "pycore_pystate.h"       // _PyInterpreterState_GET()
#include "pycore_valgrind.h"      // _PyValgrind_GetMode()

#include <valgrind/valgrind.h>    // RUNNING_ON_VALGRIND
#include <valgrind/memcheck.h>    // VALGRIND_COUNT_LEAKS

PyDoc_STRVAR(running_on_valgrind_doc,
"running_on_valgrind()\n\
--\n\
\n\
Return the number of Valgrind layers the process runs under (0 natively).");

static PyObject *
running_on_valgrind(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLong((long)RUNNING_ON_VALGRIND);
}

PyDoc_STRVAR(tool_doc,
"tool()\n\
--\n\
\n\
Return the running Valgrind tool ('memcheck', 'callgrind', ...), 'unknown'\n\
under a Valgrind whose tool cannot be told (then PyMem_ and PyObject_ go to\n\
malloc()), or None outside Valgrind.");

static PyObject *
tool(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    const char *name = _PyValgrind_GetToolName();
    if (name == NULL) {
        Py_RETURN_NONE;
    }
    return PyUnicode_FromString(name);
}

PyDoc_STRVAR(tool_source_doc,
"tool_source()\n\
--\n\
\n\
Return where tool() came from: 'request' (Valgrind 3.27 and later name\n\
the tool and say whether it replaces malloc(), and that decided the mode),\n\
'maps' (an older Valgrind: the tool's executable in /proc/self/maps), or\n\
'none' (it cannot be told).  None outside Valgrind.");

static PyObject *
tool_source(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    const char *source = _PyValgrind_GetToolSource();
    if (source == NULL) {
        Py_RETURN_NONE;
    }
    return PyUnicode_FromString(source);
}

PyDoc_STRVAR(mode_doc,
"mode()\n\
--\n\
\n\
Return how PyMem_ and PyObject_ allocations are served in this process:\n\
'malloc' (by the C library allocator), 'pymalloc', or 'pool' (pymalloc,\n\
each block announced to Memcheck).\n\
\n\
Outside Valgrind the answer is always 'pymalloc'.");

static PyObject *
mode(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    _PyValgrind_Mode mode = _PyValgrind_GetMode();
    if (mode == _PyValgrind_NATIVE) {
        mode = _PyValgrind_PYMALLOC;
    }
    return PyUnicode_FromString(_PyValgrind_ModeName(mode));
}

PyDoc_STRVAR(count_errors_doc,
"count_errors()\n\
--\n\
\n\
Return the number of errors Valgrind has found in this process so far.\n\
\n\
Every occurrence counts, also of an error already shown once.  A leak check\n\
counts each new definitely lost record as one error.  0 outside Valgrind\n\
and under tools that report no errors.");

static PyObject *
count_errors(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromUnsignedLong((unsigned long)VALGRIND_COUNT_ERRORS);
}

PyDoc_STRVAR(marker_doc,
"marker(text, /)\n\
--\n\
\n\
Write TEXT as a line of the Valgrind log, between the reports around it:\n\
a <clientmsg> element with --xml=yes.  Does nothing outside Valgrind.");

/* The UTF-8 text of FUNC's str argument ARG, or NULL with an exception. */
static const char *
text_argument(const char *func, PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "%s() argument must be str, not %T",
                     func, arg);
        return NULL;
    }
    return PyUnicode_AsUTF8(arg);
}

static PyObject *
marker(PyObject *module, PyObject *arg)
{
    const char *text = text_argument("marker", arg);
    if (text == NULL) {
        return NULL;
    }
    if (RUNNING_ON_VALGRIND) {
        VALGRIND_PRINTF("%s\n", text);
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(monitor_doc,
"monitor(command, /)\n\
--\n\
\n\
Run a Valgrind monitor command (as gdb's \"monitor\" or vgdb would), for\n\
example \"who_points_at 0x4a5b000\" under Memcheck; its output goes to the\n\
Valgrind log.  Return True if the tool knows the command, False if it\n\
does not or outside Valgrind.");

static PyObject *
monitor(PyObject *module, PyObject *arg)
{
    const char *command = text_argument("monitor", arg);
    if (command == NULL) {
        return NULL;
    }
    int unknown = 1;
    if (RUNNING_ON_VALGRIND) {
        unknown = (int)VALGRIND_MONITOR_COMMAND(command);
    }
    return PyBool_FromLong(!unknown);
}

/* --- leak_check() ---------------------------------------------------------

   The search itself, with the stale pointers of the free part of the frame
   stacks hidden from it, is _PyValgrind_AddedLeakSearch()
   (Python/valgrind_search.c).  A full collection runs first: cyclic
   garbage is referenced only by itself and would otherwise count as
   lost. */

/* Memcheck counts the totals of its last search; leak_check() reports what
   was added since the previous call.  Valgrind has one set of totals per
   process, hence static storage: interpreters with their own GIL, or no GIL
   at all, may search at the same time, so a search and the totals it
   updates are one critical section. */
typedef struct {
    unsigned long bytes[4];     /* leaked, possible, reachable, suppressed */
    unsigned long blocks[4];
} leak_totals;

static struct {
    PyMutex mutex;
    leak_totals last;
} leak_search;

typedef struct {
    PyTypeObject *LeakCountsType;
} valgrind_state;

static inline valgrind_state *
get_valgrind_state(PyObject *module)
{
    return (valgrind_state *)PyModule_GetState(module);
}

static PyStructSequence_Field leak_counts_fields[] = {
    {"leaked", "definitely and indirectly lost bytes"},
    {"leaked_blocks", "definitely and indirectly lost blocks"},
    {"possible", "possibly lost bytes"},
    {"possible_blocks", "possibly lost blocks"},
    {"reachable", "still reachable bytes"},
    {"reachable_blocks", "still reachable blocks"},
    {"suppressed", "suppressed bytes"},
    {"suppressed_blocks", "suppressed blocks"},
    {NULL}
};

static PyStructSequence_Desc leak_counts_desc = {
    "_valgrind.LeakCounts",
    "Bytes and blocks that a leak check found added since the previous one.\n"
    "Negative when memory of that kind was freed or changed kind.",
    leak_counts_fields,
    8
};

PyDoc_STRVAR(leak_check_doc,
"leak_check()\n\
--\n\
\n\
Run a full garbage collection, then a Memcheck leak search, and return a\n\
LeakCounts of what was added since the previous leak_check() call:\n\
leaked (definitely + indirectly lost: Memcheck's client interface counts\n\
them together; the records in the log tell them apart), possible,\n\
reachable and suppressed, in bytes and blocks.\n\
\n\
The search reports the loss records that grew, as a leak check with\n\
--leak-check=full does, in the Valgrind log.  Outside Memcheck no search\n\
runs and every count is 0.");

/* Search, and store in ADDED what the search added to Memcheck's totals. */
static void
search_leaks(leak_totals *added)
{
    leak_totals now = {{0}};
    PyMutex_Lock(&leak_search.mutex);
    if (_PyValgrind_RunningMemcheck()) {
        _PyValgrind_AddedLeakSearch(_PyInterpreterState_GET());
        VALGRIND_COUNT_LEAKS(now.bytes[0], now.bytes[1],
                             now.bytes[2], now.bytes[3]);
        VALGRIND_COUNT_LEAK_BLOCKS(now.blocks[0], now.blocks[1],
                                   now.blocks[2], now.blocks[3]);
    }
    for (int i = 0; i < 4; i++) {
        added->bytes[i] = now.bytes[i] - leak_search.last.bytes[i];
        added->blocks[i] = now.blocks[i] - leak_search.last.blocks[i];
    }
    leak_search.last = now;
    PyMutex_Unlock(&leak_search.mutex);
}

static PyObject *
leak_check(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    if (_PyValgrind_RunningMemcheck()) {
        (void)PyGC_Collect();
    }
    /* The GIL stays held: the search hides and shows the GC lists. */
    leak_totals added;
    search_leaks(&added);
    PyObject *counts = PyStructSequence_New(
        get_valgrind_state(module)->LeakCountsType);
    if (counts == NULL) {
        return NULL;
    }
    for (int i = 0; i < 4; i++) {
        /* Differences of unsigned totals: negative when memory of that
           kind was freed or changed kind. */
        long added_pair[2] = {(long)added.bytes[i], (long)added.blocks[i]};
        for (int j = 0; j < 2; j++) {
            PyObject *value = PyLong_FromLong(added_pair[j]);
            if (value == NULL) {
                Py_DECREF(counts);
                return NULL;
            }
            PyStructSequence_SetItem(counts, 2 * i + j, value);
        }
    }
    return counts;
}

PyDoc_STRVAR(set_test_tag_doc,
"set_test_tag(number)\n\
--\n\
\n\
Tag what is allocated from now on with NUMBER, 0 to 65535; a number whose\n\
low byte is 0 means no tag.  In malloc mode the stack that Memcheck records\n\
for each block then has the functions group_tag_GG and test_tag_TT (GG, TT:\n\
the high and low byte of NUMBER in hexadecimal), so that a leak record\n\
names the test that allocated the block.  No effect in other modes.");

static PyObject *
set_test_tag(PyObject *module, PyObject *arg)
{
    int number = PyLong_AsInt(arg);
    if (number == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (number < 0 || number > 0xffff) {
        PyErr_SetString(PyExc_ValueError, "a test tag is from 0 to 65535");
        return NULL;
    }
    _Py_atomic_store_int_relaxed(&_PyValgrind_TestTag, number);
    Py_RETURN_NONE;
}

static PyMethodDef valgrind_methods[] = {
    {"running_on_valgrind", running_on_valgrind, METH_NOARGS,
     running_on_valgrind_doc},
    {"tool", tool, METH_NOARGS, tool_doc},
    {"tool_source", tool_source, METH_NOARGS, tool_source_doc},
    {"mode", mode, METH_NOARGS, mode_doc},
    {"count_errors", count_errors, METH_NOARGS, count_errors_doc},
    {"leak_check", leak_check, METH_NOARGS, leak_check_doc},
    {"marker", marker, METH_O, marker_doc},
    {"set_test_tag", set_test_tag, METH_O, set_test_tag_doc},
    {"monitor", monitor, METH_O, monitor_doc},
    {NULL, NULL}
};

static int
valgrind_exec(PyObject *module)
{
    valgrind_state *state = get_valgrind_state(module);
    state->LeakCountsType = PyStructSequence_NewType(&leak_counts_desc);
    if (state->LeakCountsType == NULL) {
        return -1;
    }
    return PyModule_AddType(module, state->LeakCountsType);
}

static int
valgrind_traverse(PyObject *module, visitproc visit, void *arg)
{
    Py_VISIT(get_valgrind_state(module)->LeakCountsType);
    return 0;
}

static int
valgrind_clear(PyObject *module)
{
    Py_CLEAR(get_valgrind_state(module)->LeakCountsType);
    return 0;
}

static void
valgrind_free(void *module)
{
    (void)valgrind_clear((PyObject *)module);
}

static PyModuleDef_Slot valgrind_slots[] = {
    {Py_mod_exec, valgrind_exec},
    /* One set of leak totals per process, under a lock of its own. */
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
    {0, NULL}
};

PyDoc_STRVAR(module_doc,
"How this interpreter runs under Valgrind (see Misc/README.valgrind).");

static struct PyModuleDef valgrind_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_valgrind",
    .m_doc = module_doc,
    .m_size = sizeof(valgrind_state),
    .m_methods = valgrind_methods,
    .m_slots = valgrind_slots,
    .m_traverse = valgrind_traverse,
    .m_clear = valgrind_clear,
    .m_free = valgrind_free,
};

PyMODINIT_FUNC
PyInit__valgrind(void)
{
    return PyModuleDef_Init(&valgrind_module);
}
