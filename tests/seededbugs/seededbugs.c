/* seededbugs: a C extension with one memory bug per function, for checking
   that Memcheck reports each bug at the function that made it.

   Every bug function is named bug_<kind>; tests/test_memcheck.py maps each
   name to the Memcheck error kind it must produce.  Build with -O0 -g so that
   every function keeps its own frame. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

/* A sink the compiler cannot see through, so that reads are not dropped. */
static volatile char sink;

/* Requests below pymalloc's 512-byte threshold: the sizes pymalloc serves
   from its arenas, which is what hides these bugs from Memcheck. */
#define SMALL 24

static NOINLINE PyObject *
bug_leak_object(PyObject *self, PyObject *args)
{
    /* A new reference that is never released. */
    PyObject *leaked = PyBytes_FromStringAndSize(NULL, SMALL);
    if (leaked == NULL) {
        return NULL;
    }
    memset(PyBytes_AS_STRING(leaked), 'x', SMALL);
    Py_RETURN_NONE;
}

static NOINLINE PyObject *
bug_leak_pymem(PyObject *self, PyObject *args)
{
    char *block = PyMem_Malloc(SMALL);
    if (block == NULL) {
        return PyErr_NoMemory();
    }
    memset(block, 0, SMALL);
    Py_RETURN_NONE;
}

static NOINLINE PyObject *
bug_leak_pyobject_malloc(PyObject *self, PyObject *args)
{
    char *block = PyObject_Malloc(SMALL);
    if (block == NULL) {
        return PyErr_NoMemory();
    }
    memset(block, 0, SMALL);
    Py_RETURN_NONE;
}

static NOINLINE PyObject *
bug_overflow_write(PyObject *self, PyObject *args)
{
    char *block = PyMem_Malloc(SMALL);
    if (block == NULL) {
        return PyErr_NoMemory();
    }
    memset(block, 0, SMALL);
    ((volatile char *)block)[SMALL] = 'x';     /* one byte past the request */
    PyMem_Free(block);
    Py_RETURN_NONE;
}

static NOINLINE PyObject *
bug_overflow_read(PyObject *self, PyObject *args)
{
    char *block = PyMem_Malloc(SMALL);
    if (block == NULL) {
        return PyErr_NoMemory();
    }
    memset(block, 0, SMALL);
    sink = ((volatile char *)block)[SMALL];     /* one byte past the request */
    PyMem_Free(block);
    Py_RETURN_NONE;
}

static NOINLINE PyObject *
bug_uninit_branch(PyObject *self, PyObject *args)
{
    char *block = PyMem_Malloc(SMALL);
    if (block == NULL) {
        return PyErr_NoMemory();
    }
    block[0] = 'a';
    int taken = 0;
    if (block[SMALL / 2] == 'x') {              /* never written */
        taken = 1;
    }
    PyMem_Free(block);
    return PyBool_FromLong(taken);
}

static NOINLINE PyObject *
bug_use_after_free(PyObject *self, PyObject *args)
{
    char *block = PyMem_Malloc(SMALL);
    if (block == NULL) {
        return PyErr_NoMemory();
    }
    memset(block, 'y', SMALL);
    PyMem_Free(block);
    sink = ((volatile char *)block)[SMALL / 2];  /* read after free */
    Py_RETURN_NONE;
}

/* Correct code using the same APIs: must produce no report at all. */
static NOINLINE PyObject *
clean_workload(PyObject *self, PyObject *args)
{
    for (int i = 0; i < 100; i++) {
        char *block = PyMem_Malloc(SMALL + i);
        if (block == NULL) {
            return PyErr_NoMemory();
        }
        memset(block, 'z', SMALL + i);
        sink = block[SMALL + i - 1];
        block = PyMem_Realloc(block, 2 * SMALL + i);
        if (block == NULL) {
            return PyErr_NoMemory();
        }
        sink = block[0];
        PyMem_Free(block);

        PyObject *obj = PyBytes_FromStringAndSize(NULL, SMALL + i);
        if (obj == NULL) {
            return NULL;
        }
        memset(PyBytes_AS_STRING(obj), 'z', SMALL + i);
        Py_DECREF(obj);
    }
    Py_RETURN_NONE;
}

static PyMethodDef seededbugs_methods[] = {
    {"bug_leak_object", bug_leak_object, METH_NOARGS, NULL},
    {"bug_leak_pymem", bug_leak_pymem, METH_NOARGS, NULL},
    {"bug_leak_pyobject_malloc", bug_leak_pyobject_malloc, METH_NOARGS, NULL},
    {"bug_overflow_write", bug_overflow_write, METH_NOARGS, NULL},
    {"bug_overflow_read", bug_overflow_read, METH_NOARGS, NULL},
    {"bug_uninit_branch", bug_uninit_branch, METH_NOARGS, NULL},
    {"bug_use_after_free", bug_use_after_free, METH_NOARGS, NULL},
    {"clean_workload", clean_workload, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef seededbugs_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "seededbugs",
    .m_doc = "One memory bug per function, for Memcheck to find.",
    .m_size = -1,
    .m_methods = seededbugs_methods,
};

PyMODINIT_FUNC
PyInit_seededbugs(void)
{
    return PyModule_Create(&seededbugs_module);
}
