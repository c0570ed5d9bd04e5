/*[clinic input]
preserve
[clinic start generated code]*/

#include "pycore_modsupport.h"    // _PyArg_BadArgument()

PyDoc_STRVAR(_valgrind_running_on_valgrind__doc__,
"running_on_valgrind($module, /)\n"
"--\n"
"\n"
"Return the number of Valgrind layers the process runs under (0 natively).");

#define _VALGRIND_RUNNING_ON_VALGRIND_METHODDEF    \
    {"running_on_valgrind", (PyCFunction)_valgrind_running_on_valgrind, METH_NOARGS, _valgrind_running_on_valgrind__doc__},

static PyObject *
_valgrind_running_on_valgrind_impl(PyObject *module);

static PyObject *
_valgrind_running_on_valgrind(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return _valgrind_running_on_valgrind_impl(module);
}

PyDoc_STRVAR(_valgrind_tool__doc__,
"tool($module, /)\n"
"--\n"
"\n"
"Return the running Valgrind tool, or None outside Valgrind.\n"
"\n"
"The tool is \'memcheck\', \'callgrind\', ..., or \'unknown\' under a Valgrind\n"
"whose tool cannot be told (then PyMem_ and PyObject_ go to malloc()).");

#define _VALGRIND_TOOL_METHODDEF    \
    {"tool", (PyCFunction)_valgrind_tool, METH_NOARGS, _valgrind_tool__doc__},

static PyObject *
_valgrind_tool_impl(PyObject *module);

static PyObject *
_valgrind_tool(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return _valgrind_tool_impl(module);
}

PyDoc_STRVAR(_valgrind_tool_source__doc__,
"tool_source($module, /)\n"
"--\n"
"\n"
"Return where tool() came from, or None outside Valgrind.\n"
"\n"
"\'request\' (Valgrind 3.27 and later name the tool and say whether it\n"
"replaces malloc(), and that decided the mode), \'maps\' (an older Valgrind:\n"
"the tool\'s executable in /proc/self/maps), or \'none\' (it cannot be told).");

#define _VALGRIND_TOOL_SOURCE_METHODDEF    \
    {"tool_source", (PyCFunction)_valgrind_tool_source, METH_NOARGS, _valgrind_tool_source__doc__},

static PyObject *
_valgrind_tool_source_impl(PyObject *module);

static PyObject *
_valgrind_tool_source(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return _valgrind_tool_source_impl(module);
}

PyDoc_STRVAR(_valgrind_mode__doc__,
"mode($module, /)\n"
"--\n"
"\n"
"Return how PyMem_ and PyObject_ allocations are served in this process.\n"
"\n"
"\'malloc\' (by the C library allocator), \'pymalloc\', or \'pool\' (pymalloc,\n"
"each block announced to Memcheck).\n"
"\n"
"Outside Valgrind the answer is always \'pymalloc\'.");

#define _VALGRIND_MODE_METHODDEF    \
    {"mode", (PyCFunction)_valgrind_mode, METH_NOARGS, _valgrind_mode__doc__},

static PyObject *
_valgrind_mode_impl(PyObject *module);

static PyObject *
_valgrind_mode(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return _valgrind_mode_impl(module);
}

PyDoc_STRVAR(_valgrind_count_errors__doc__,
"count_errors($module, /)\n"
"--\n"
"\n"
"Return the number of errors Valgrind has found in this process so far.\n"
"\n"
"Every occurrence counts, also of an error already shown once.  A leak check\n"
"counts each new definitely lost record as one error.  0 outside Valgrind\n"
"and under tools that report no errors.");

#define _VALGRIND_COUNT_ERRORS_METHODDEF    \
    {"count_errors", (PyCFunction)_valgrind_count_errors, METH_NOARGS, _valgrind_count_errors__doc__},

static PyObject *
_valgrind_count_errors_impl(PyObject *module);

static PyObject *
_valgrind_count_errors(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return _valgrind_count_errors_impl(module);
}

PyDoc_STRVAR(_valgrind_marker__doc__,
"marker($module, text, /)\n"
"--\n"
"\n"
"Write TEXT as a line of the Valgrind log, between the reports around it.\n"
"\n"
"With --xml=yes it is a <clientmsg> element.  Does nothing outside Valgrind.");

#define _VALGRIND_MARKER_METHODDEF    \
    {"marker", (PyCFunction)_valgrind_marker, METH_O, _valgrind_marker__doc__},

static PyObject *
_valgrind_marker_impl(PyObject *module, PyObject *text_obj);

static PyObject *
_valgrind_marker(PyObject *module, PyObject *arg)
{
    PyObject *return_value = NULL;
    PyObject *text_obj;

    if (!PyUnicode_Check(arg)) {
        _PyArg_BadArgument("marker", "argument", "str", arg);
        goto exit;
    }
    text_obj = arg;
    return_value = _valgrind_marker_impl(module, text_obj);

exit:
    return return_value;
}

PyDoc_STRVAR(_valgrind_monitor__doc__,
"monitor($module, command, /)\n"
"--\n"
"\n"
"Run a Valgrind monitor command, as gdb\'s \"monitor\" or vgdb would.\n"
"\n"
"For example \"who_points_at 0x4a5b000\" under Memcheck; its output goes to\n"
"the Valgrind log.  Return True if the tool knows the command, False if it\n"
"does not or outside Valgrind.");

#define _VALGRIND_MONITOR_METHODDEF    \
    {"monitor", (PyCFunction)_valgrind_monitor, METH_O, _valgrind_monitor__doc__},

static PyObject *
_valgrind_monitor_impl(PyObject *module, PyObject *command_obj);

static PyObject *
_valgrind_monitor(PyObject *module, PyObject *arg)
{
    PyObject *return_value = NULL;
    PyObject *command_obj;

    if (!PyUnicode_Check(arg)) {
        _PyArg_BadArgument("monitor", "argument", "str", arg);
        goto exit;
    }
    command_obj = arg;
    return_value = _valgrind_monitor_impl(module, command_obj);

exit:
    return return_value;
}

PyDoc_STRVAR(_valgrind_leak_check__doc__,
"leak_check($module, /)\n"
"--\n"
"\n"
"Run a full garbage collection, then a Memcheck leak search.\n"
"\n"
"Return a LeakCounts of what was added since the previous leak_check()\n"
"call: leaked (definitely + indirectly lost: Memcheck\'s client interface\n"
"counts them together; the records in the log tell them apart), possible,\n"
"reachable and suppressed, in bytes and blocks.\n"
"\n"
"The search reports the loss records that grew, as a leak check with\n"
"--leak-check=full does, in the Valgrind log.  Outside Memcheck no search\n"
"runs and every count is 0.");

#define _VALGRIND_LEAK_CHECK_METHODDEF    \
    {"leak_check", (PyCFunction)_valgrind_leak_check, METH_NOARGS, _valgrind_leak_check__doc__},

static PyObject *
_valgrind_leak_check_impl(PyObject *module);

static PyObject *
_valgrind_leak_check(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return _valgrind_leak_check_impl(module);
}

PyDoc_STRVAR(_valgrind_set_test_tag__doc__,
"set_test_tag($module, tag, /)\n"
"--\n"
"\n"
"Tag what is allocated from now on with TAG, 0 to 65535.\n"
"\n"
"A tag whose low byte is 0 means no tag.  In malloc mode the stack that\n"
"Memcheck records for each block then has the functions group_tag_GG and\n"
"test_tag_TT (GG, TT: the high and low byte of TAG in hexadecimal), so\n"
"that a leak record names the test that allocated the block.  No effect in\n"
"other modes.");

#define _VALGRIND_SET_TEST_TAG_METHODDEF    \
    {"set_test_tag", (PyCFunction)_valgrind_set_test_tag, METH_O, _valgrind_set_test_tag__doc__},

static PyObject *
_valgrind_set_test_tag_impl(PyObject *module, int tag);

static PyObject *
_valgrind_set_test_tag(PyObject *module, PyObject *arg)
{
    PyObject *return_value = NULL;
    int tag;

    tag = PyLong_AsInt(arg);
    if (tag == -1 && PyErr_Occurred()) {
        goto exit;
    }
    return_value = _valgrind_set_test_tag_impl(module, tag);

exit:
    return return_value;
}
/*[clinic end generated code: output=0e037daf7fd04bff input=a9049054013a1b77]*/
