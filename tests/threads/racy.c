/* An extension with a data race, for the verdicts under Helgrind and DRD
   (tests/test_thread_verdicts.py).  Each function is called by two Python
   threads at once; with the GIL released, racy_add() increments a C static
   without a lock (a data race), locked_add() another under a pthread
   mutex (clean).  The two calls meet at a barrier first: the increments
   that follow are ordered by nothing but the mutex, whatever the scheduler
   does, so that the race is there to be seen on every run. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>

static long racy_counter;
static long locked_counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t barrier;

static PyObject *
add(PyObject *arg, long *counter, int locked)
{
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    pthread_barrier_wait(&barrier);
    for (long i = 0; i < n; i++) {
        if (locked) {
            pthread_mutex_lock(&lock);
        }
        (*counter)++;
        if (locked) {
            pthread_mutex_unlock(&lock);
        }
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *
racy_add(PyObject *self, PyObject *arg)
{
    return add(arg, &racy_counter, 0);
}

static PyObject *
locked_add(PyObject *self, PyObject *arg)
{
    return add(arg, &locked_counter, 1);
}

static PyMethodDef methods[] = {
    {"racy_add", racy_add, METH_O, "add N to a counter, without a lock"},
    {"locked_add", locked_add, METH_O, "add N to a counter, under a mutex"},
    {NULL}
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "racy", NULL, -1, methods,
};

PyMODINIT_FUNC
PyInit_racy(void)
{
    /* Two threads meet at each call. */
    pthread_barrier_init(&barrier, NULL, 2);
    PyObject *m = PyModule_Create(&module);
#ifdef Py_GIL_DISABLED
    /* The free-threaded build keeps the GIL disabled on import. */
    if (m != NULL && PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED) < 0) {
        Py_CLEAR(m);
    }
#endif
    return m;
}
