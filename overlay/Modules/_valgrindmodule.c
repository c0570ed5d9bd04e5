/* _valgrind: what the interpreter knows about running under Valgrind.

   Built in when CPython is configured --with-valgrind.  The decision itself
   lives in Objects/obmalloc_valgrind.h; this module only reports it, so that
   tests and tools can tell how the process's allocations are served. */

#ifndef Py_BUILD_CORE_BUILTIN
#  define Py_BUILD_CORE_MODULE 1
#endif

#include "Python.h"
#include "pycore_valgrind.h"

#include <valgrind/valgrind.h>

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
Return the running Valgrind tool ('memcheck', 'callgrind', ...), or None.");

static PyObject *
tool(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    const char *name = _PyValgrind_GetToolName();
    if (name == NULL) {
        Py_RETURN_NONE;
    }
    return PyUnicode_FromString(name);
}

PyDoc_STRVAR(mode_doc,
"mode()\n\
--\n\
\n\
Return how PyMem_ and PyObject_ allocations are served in this process:\n\
'malloc' (routed to the C library allocator) or 'pymalloc'.\n\
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

static PyMethodDef valgrind_methods[] = {
    {"running_on_valgrind", running_on_valgrind, METH_NOARGS,
     running_on_valgrind_doc},
    {"tool", tool, METH_NOARGS, tool_doc},
    {"mode", mode, METH_NOARGS, mode_doc},
    {NULL, NULL}
};

static PyModuleDef_Slot valgrind_slots[] = {
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
    .m_size = 0,
    .m_methods = valgrind_methods,
    .m_slots = valgrind_slots,
};

PyMODINIT_FUNC
PyInit__valgrind(void)
{
    return PyModuleDef_Init(&valgrind_module);
}
