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

/*[clinic input]
module _valgrind
[clinic start generated code]*/
/*[clinic end generated code: output=da39a3ee5e6b4b0d input=fb9ec0bcc59ea9a1]*/

#include "clinic/_valgrindmodule.c.h"

/*[clinic input]
_valgrind.running_on_valgrind

Return the number of Valgrind layers the process runs under (0 natively).
[clinic start generated code]*/

static PyObject *
_valgrind_running_on_valgrind_impl(PyObject *module)
/*[clinic end generated code: output=83818f0eb1bba16d input=eaa0fd0b42281fe9]*/
{
    return PyLong_FromLong((long)RUNNING_ON_VALGRIND);
}

/* The answers that are NULL outside Valgrind. */
static PyObject *
str_or_none(const char *text)
{
    if (text == NULL) {
        Py_RETURN_NONE;
    }
    return PyUnicode_FromString(text);
}

/*[clinic input]
_valgrind.tool

Return the running Valgrind tool, or None outside Valgrind.

The tool is 'memcheck', 'callgrind', ..., or 'unknown' under a Valgrind
whose tool cannot be told (then PyMem_ and PyObject_ go to malloc()).
[clinic start generated code]*/

static PyObject *
_valgrind_tool_impl(PyObject *module)
/*[clinic end generated code: output=82df9cdfff1909c3 input=ff5343617188287f]*/
{
    return str_or_none(_PyValgrind_GetToolName());
}

/*[clinic input]
_valgrind.tool_source

Return where tool() came from, or None outside Valgrind.

'request' (Valgrind 3.27 and later name the tool and say whether it
replaces malloc(), and that decided the mode), 'maps' (an older Valgrind:
the tool's executable in /proc/self/maps), or 'none' (it cannot be told).
[clinic start generated code]*/

static PyObject *
_valgrind_tool_source_impl(PyObject *module)
/*[clinic end generated code: output=b833a045e4ffd66f input=be30983ac682a120]*/
{
    return str_or_none(_PyValgrind_GetToolSource());
}

/*[clinic input]
_valgrind.mode

Return how PyMem_ and PyObject_ allocations are served in this process.

'malloc' (by the C library allocator), 'pymalloc', or 'pool' (pymalloc,
each block announced to Memcheck).

Outside Valgrind the answer is always 'pymalloc'.
[clinic start generated code]*/

static PyObject *
_valgrind_mode_impl(PyObject *module)
/*[clinic end generated code: output=2812d76a2dddfda1 input=0f1f3362416235c4]*/
{
    _PyValgrind_Mode mode = _PyValgrind_GetMode();
    if (mode == _PyValgrind_NATIVE) {
        mode = _PyValgrind_PYMALLOC;
    }
    return PyUnicode_FromString(_PyValgrind_ModeName(mode));
}

/*[clinic input]
_valgrind.count_errors

Return the number of errors Valgrind has found in this process so far.

Every occurrence counts, also of an error already shown once.  A leak check
counts each new definitely lost record as one error.  0 outside Valgrind
and under tools that report no errors.
[clinic start generated code]*/

static PyObject *
_valgrind_count_errors_impl(PyObject *module)
/*[clinic end generated code: output=dc53f9e971cd93e1 input=a0204d5b1c207f61]*/
{
    return PyLong_FromUnsignedLong((unsigned long)VALGRIND_COUNT_ERRORS);
}

/* marker() and monitor() take a str object and convert it themselves with
   PyUnicode_AsUTF8(), as they did before Argument Clinic: Clinic's str
   converter would also reject an embedded null character. */

/*[clinic input]
_valgrind.marker

    text as text_obj: unicode
    /

Write TEXT as a line of the Valgrind log, between the reports around it.

With --xml=yes it is a <clientmsg> element.  Does nothing outside Valgrind.
[clinic start generated code]*/

static PyObject *
_valgrind_marker_impl(PyObject *module, PyObject *text_obj)
/*[clinic end generated code: output=0da103461b13bdfe input=ada8cde56f0dd811]*/
{
    const char *text = PyUnicode_AsUTF8(text_obj);
    if (text == NULL) {
        return NULL;
    }
    if (RUNNING_ON_VALGRIND) {
        VALGRIND_PRINTF("%s\n", text);
    }
    Py_RETURN_NONE;
}

/*[clinic input]
_valgrind.monitor

    command as command_obj: unicode
    /

Run a Valgrind monitor command, as gdb's "monitor" or vgdb would.

For example "who_points_at 0x4a5b000" under Memcheck; its output goes to
the Valgrind log.  Return True if the tool knows the command, False if it
does not or outside Valgrind.
[clinic start generated code]*/

static PyObject *
_valgrind_monitor_impl(PyObject *module, PyObject *command_obj)
/*[clinic end generated code: output=f1b5e7b53d68da9e input=56e2a4338026e1e5]*/
{
    const char *command = PyUnicode_AsUTF8(command_obj);
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

/*[clinic input]
_valgrind.leak_check

Run a full garbage collection, then a Memcheck leak search.

Return a LeakCounts of what was added since the previous leak_check()
call: leaked (definitely + indirectly lost: Memcheck's client interface
counts them together; the records in the log tell them apart), possible,
reachable and suppressed, in bytes and blocks.

The search reports the loss records that grew, as a leak check with
--leak-check=full does, in the Valgrind log.  Outside Memcheck no search
runs and every count is 0.
[clinic start generated code]*/

static PyObject *
_valgrind_leak_check_impl(PyObject *module)
/*[clinic end generated code: output=af977c8d873c85d9 input=998a95166274fc20]*/
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

/*[clinic input]
_valgrind.set_test_tag

    tag: int
    /

Tag what is allocated from now on with TAG, 0 to 65535.

A tag whose low byte is 0 means no tag.  In malloc mode the stack that
Memcheck records for each block then has the functions group_tag_GG and
test_tag_TT (GG, TT: the high and low byte of TAG in hexadecimal), so
that a leak record names the test that allocated the block.  No effect in
other modes.
[clinic start generated code]*/

static PyObject *
_valgrind_set_test_tag_impl(PyObject *module, int tag)
/*[clinic end generated code: output=187e9a0387b36950 input=19f6b54aee963458]*/
{
    if (tag < 0 || tag > 0xffff) {
        PyErr_SetString(PyExc_ValueError, "a test tag is from 0 to 65535");
        return NULL;
    }
    _Py_atomic_store_int_relaxed(&_PyValgrind_TestTag, tag);
    Py_RETURN_NONE;
}

static PyMethodDef valgrind_methods[] = {
    _VALGRIND_RUNNING_ON_VALGRIND_METHODDEF
    _VALGRIND_TOOL_METHODDEF
    _VALGRIND_TOOL_SOURCE_METHODDEF
    _VALGRIND_MODE_METHODDEF
    _VALGRIND_COUNT_ERRORS_METHODDEF
    _VALGRIND_LEAK_CHECK_METHODDEF
    _VALGRIND_MARKER_METHODDEF
    _VALGRIND_SET_TEST_TAG_METHODDEF
    _VALGRIND_MONITOR_METHODDEF
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
