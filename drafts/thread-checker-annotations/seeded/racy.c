/* Seeded real race (issue 22): two Python threads call bump(), which
   increments a C static with no lock.  Helgrind and DRD must report it at
   racy_bump.  Built against /work/h22/obj (free-threaded, Py_GIL_DISABLED). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static long counter = 0;

static __attribute__((noinline)) void
racy_bump(long n)
{
    for (long i = 0; i < n; i++) {
        counter++;              /* the race: plain read-modify-write */
    }
}

static PyObject *
bump(PyObject *mod, PyObject *arg)
{
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    racy_bump(n);
    Py_RETURN_NONE;
}

static PyObject *
get(PyObject *mod, PyObject *unused)
{
    return PyLong_FromLong(counter);
}

static PyMethodDef methods[] = {
    {"bump", bump, METH_O, NULL},
    {"get", get, METH_NOARGS, NULL},
    {NULL},
};

static PyModuleDef_Slot slots[] = {
#ifdef Py_GIL_DISABLED
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef moddef = {
    PyModuleDef_HEAD_INIT, "racy", NULL, 0, methods, slots,
};

PyMODINIT_FUNC
PyInit_racy(void)
{
    return PyModuleDef_Init(&moddef);
}
