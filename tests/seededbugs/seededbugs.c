/* seededbugs: a C extension with one memory bug per function, for checking
   that Memcheck reports each bug at the function that made it.

   Every bug function is named bug_<kind>; tests/test_seeded_bugs.py maps each
   name to the Memcheck error kind it must produce.  Build with -O0 -g so that
   every function keeps its own frame. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
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
    /* One byte past the request.  It writes back the byte that is there:
       under pymalloc that byte belongs to the next block, often its free-list
       link, and the test that runs with pymalloc must not crash. */
    volatile char *past = (volatile char *)block + SMALL;
    char there = *past;
    *past = there;
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

/* A PyMem_Malloc() block given to the C library's free().  Routed to
   malloc(), the two match and nothing is wrong; in production the block is
   inside a pymalloc arena and free() corrupts the C library's heap. */
static NOINLINE PyObject *
bug_wrong_family_free(PyObject *self, PyObject *args)
{
    char *block = PyMem_Malloc(SMALL);
    if (block == NULL) {
        return PyErr_NoMemory();
    }
    memset(block, 0, SMALL);
    free(block);
    Py_RETURN_NONE;
}

static NOINLINE PyObject *
bug_double_free(PyObject *self, PyObject *args)
{
    char *block = PyMem_Malloc(SMALL);
    if (block == NULL) {
        return PyErr_NoMemory();
    }
    memset(block, 0, SMALL);
    PyMem_Free(block);
    PyMem_Free(block);
    Py_RETURN_NONE;
}

/* Realloc moves the block: the bytes written before must stay defined and
   those never written undefined, so the branch below is on an uninitialised
   byte and the reads of the first bytes are not. */
static NOINLINE PyObject *
bug_uninit_after_realloc(PyObject *self, PyObject *args)
{
    char *block = PyMem_Malloc(SMALL);
    if (block == NULL) {
        return PyErr_NoMemory();
    }
    memset(block, 'r', SMALL / 2);
    char *bigger = PyMem_Realloc(block, 8 * SMALL);
    if (bigger == NULL) {
        PyMem_Free(block);
        return PyErr_NoMemory();
    }
    int taken = 0;
    if (bigger[0] == 'r' && bigger[SMALL / 2 - 1] == 'r') {
        taken = 1;
    }
    if (bigger[SMALL - 1] == 'x') {             /* never written */
        taken = 2;
    }
    PyMem_Free(bigger);
    return PyLong_FromLong(taken);
}

/* Objects that have freelists in CPython: with the freelists in the way, a
   leak would carry the stack of whatever first allocated the memory. */

static NOINLINE PyObject *
bug_leak_float(PyObject *self, PyObject *args)
{
    PyObject *leaked = PyFloat_FromDouble(2.5);
    if (leaked == NULL) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static NOINLINE PyObject *
bug_leak_str(PyObject *self, PyObject *args)
{
    PyObject *leaked = PyUnicode_FromFormat("leaked string number %d", 42);
    if (leaked == NULL) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static NOINLINE PyObject *
bug_leak_list(PyObject *self, PyObject *args)
{
    PyObject *leaked = PyList_New(0);
    if (leaked == NULL) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static NOINLINE PyObject *
bug_leak_dict(PyObject *self, PyObject *args)
{
    PyObject *leaked = PyDict_New();
    if (leaked == NULL) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static NOINLINE PyObject *
bug_leak_tuple(PyObject *self, PyObject *args)
{
    PyObject *leaked = PyTuple_New(2);
    if (leaked == NULL) {
        return NULL;
    }
    PyTuple_SET_ITEM(leaked, 0, Py_NewRef(Py_None));
    PyTuple_SET_ITEM(leaked, 1, Py_NewRef(Py_None));
    Py_RETURN_NONE;
}

/* A container that holds other objects: the list is definitely lost, what
   only it holds is indirectly lost. */
static NOINLINE PyObject *
bug_leak_container(PyObject *self, PyObject *args)
{
    PyObject *leaked = PyList_New(0);
    if (leaked == NULL) {
        return NULL;
    }
    for (int i = 0; i < 3; i++) {
        PyObject *item = Py_BuildValue("{s:d}", "value", i + 0.5);
        if (item == NULL || PyList_Append(leaked, item) < 0) {
            Py_XDECREF(item);
            return NULL;
        }
        Py_DECREF(item);
    }
    Py_RETURN_NONE;
}

static NOINLINE PyObject *
bug_read_after_decref(PyObject *self, PyObject *args)
{
    PyObject *number = PyFloat_FromDouble(4.25);
    if (number == NULL) {
        return NULL;
    }
    Py_DECREF(number);                          /* the last reference */
    double value = ((PyFloatObject *)number)->ob_fval;   /* read after free */
    return PyLong_FromLong(value > 0);
}

/* Another thread makes an object and drops its last reference, after this
   thread took a borrowed pointer to it; this thread reads it afterwards.
   The object's owner frees it at once (in the free-threaded build, a
   reference dropped by a thread that does not own the object is merged
   later, by the owner: the owning thread has to be the one that frees). */
typedef struct {
    PyObject *borrowed;
    PyThread_type_lock done;
} thread_free_args;

static void
make_and_release_in_thread(void *arg)
{
    thread_free_args *args = arg;
    PyGILState_STATE state = PyGILState_Ensure();
    PyObject *object = PyFloat_FromDouble(2.5);
    args->borrowed = object;
    Py_XDECREF(object);                         /* the last reference */
    PyGILState_Release(state);
    PyThread_release_lock(args->done);
}

static NOINLINE PyObject *
bug_thread_use_after_free(PyObject *self, PyObject *args)
{
    thread_free_args targs = {NULL, PyThread_allocate_lock()};
    if (targs.done == NULL) {
        return PyErr_NoMemory();
    }
    PyThread_acquire_lock(targs.done, WAIT_LOCK);
    if (PyThread_start_new_thread(make_and_release_in_thread, &targs)
        == PYTHREAD_INVALID_THREAD_ID)
    {
        PyThread_free_lock(targs.done);
        PyErr_SetString(PyExc_RuntimeError, "cannot start a thread");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(targs.done, WAIT_LOCK);   /* the thread is done */
    Py_END_ALLOW_THREADS
    PyThread_free_lock(targs.done);
    if (targs.borrowed == NULL) {
        return PyErr_NoMemory();
    }
    double value = ((PyFloatObject *)targs.borrowed)->ob_fval;  /* freed */
    return PyLong_FromLong(value > 0);
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

        PyObject *list = Py_BuildValue("[d{s:i}(ii)]", i + 0.5, "key", i, i, i);
        if (list == NULL) {
            return NULL;
        }
        Py_DECREF(list);
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
    {"bug_leak_float", bug_leak_float, METH_NOARGS, NULL},
    {"bug_leak_str", bug_leak_str, METH_NOARGS, NULL},
    {"bug_leak_list", bug_leak_list, METH_NOARGS, NULL},
    {"bug_leak_dict", bug_leak_dict, METH_NOARGS, NULL},
    {"bug_leak_tuple", bug_leak_tuple, METH_NOARGS, NULL},
    {"bug_leak_container", bug_leak_container, METH_NOARGS, NULL},
    {"bug_read_after_decref", bug_read_after_decref, METH_NOARGS, NULL},
    {"bug_thread_use_after_free", bug_thread_use_after_free, METH_NOARGS, NULL},
    {"bug_wrong_family_free", bug_wrong_family_free, METH_NOARGS, NULL},
    {"bug_double_free", bug_double_free, METH_NOARGS, NULL},
    {"bug_uninit_after_realloc", bug_uninit_after_realloc, METH_NOARGS, NULL},
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
