/* seededraces: the seeded bugs' thread half, for Helgrind and DRD on the
   free-threaded build (tests/test_seeded_races.py).

   Each race_<kind> function has one data race, each clean_<kind> function
   does the same work correctly: both are called by two Python threads at
   once, and the test checks that the checker reports every race at its
   function and nothing at all for the clean ones.  The two threads meet at
   a barrier first (meet()), with their thread states detached, so that
   what follows is ordered by nothing but the code under test, whatever the
   scheduler does.  Build with -O0 -g so that every function keeps its own
   frame. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static pthread_barrier_t barrier;

/* Wait for the other thread.  Detached, so that a stop-the-world (the GC)
   requested by the thread that arrives first does not wait for this one. */
static PyObject *
meet(PyObject *self, PyObject *Py_UNUSED(arg))
{
    Py_BEGIN_ALLOW_THREADS
    pthread_barrier_wait(&barrier);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static int
count_of(PyObject *arg, long *n)
{
    *n = PyLong_AsLong(arg);
    return *n == -1 && PyErr_Occurred() ? -1 : 0;
}


/* --- races ---------------------------------------------------------------- */

/* A C static incremented without a lock. */
static long racy_counter;

static NOINLINE PyObject *
race_counter(PyObject *self, PyObject *arg)
{
    long n;
    if (count_of(arg, &n) < 0 || meet(self, NULL) == NULL) {
        return NULL;
    }
    for (long i = 0; i < n; i++) {
        racy_counter++;
    }
    Py_RETURN_NONE;
}

/* A cache built at first use without a lock: both threads may build it,
   and one reads the pointer while the other writes it. */
static PyObject *lazy_cache;

static NOINLINE PyObject *
race_lazy_cache(PyObject *self, PyObject *Py_UNUSED(arg))
{
    if (meet(self, NULL) == NULL) {
        return NULL;
    }
    if (lazy_cache == NULL) {
        lazy_cache = Py_BuildValue("{s:i}", "built", 1);
        if (lazy_cache == NULL) {
            return NULL;
        }
    }
    return Py_NewRef(lazy_cache);
}

/* Stores into a list's items array through PySequence_Fast_ITEMS(), as an
   in-place transformation would, while another thread appends to the list
   (which moves the array): no critical section around it.  The stores put
   back the pointer that was there, so that the test cannot corrupt the
   list when it runs natively.  They go on until the other thread has
   appended N items: the last of them come after its last copy of the
   array, whichever thread the scheduler runs first, so that the race is
   seen at this function's store and not only at the other thread's copy. */
static NOINLINE PyObject *
race_list_items(PyObject *self, PyObject *args)
{
    PyObject *list;
    long n;
    if (!PyArg_ParseTuple(args, "O!l", &PyList_Type, &list, &n)) {
        return NULL;
    }
    if (meet(self, NULL) == NULL) {
        return NULL;
    }
    for (long i = 0; i < 100000000 && PyList_GET_SIZE(list) <= n; i++) {
        PyObject **items = PySequence_Fast_ITEMS(list);
        PyObject *first = items[0];
        items[0] = first;
    }
    for (long i = 0; i < 100; i++) {
        PyObject **items = PySequence_Fast_ITEMS(list);
        PyObject *first = items[0];
        items[0] = first;
    }
    Py_RETURN_NONE;
}


/* --- the same work, correct ----------------------------------------------- */

/* The counter under a PyMutex. */
static long mutex_counter;
static PyMutex counter_mutex;

static NOINLINE PyObject *
clean_mutex_counter(PyObject *self, PyObject *arg)
{
    long n;
    if (count_of(arg, &n) < 0 || meet(self, NULL) == NULL) {
        return NULL;
    }
    for (long i = 0; i < n; i++) {
        PyMutex_Lock(&counter_mutex);
        mutex_counter++;
        PyMutex_Unlock(&counter_mutex);
    }
    Py_RETURN_NONE;
}

/* A dict's read-modify-write inside the dict's critical section. */
static NOINLINE PyObject *
clean_critical_section(PyObject *self, PyObject *args)
{
    PyObject *dict, *key;
    long n;
    if (!PyArg_ParseTuple(args, "O!Ol", &PyDict_Type, &dict, &key, &n)) {
        return NULL;
    }
    if (meet(self, NULL) == NULL) {
        return NULL;
    }
    int failed = 0;
    for (long i = 0; i < n && !failed; i++) {
        Py_BEGIN_CRITICAL_SECTION(dict);
        PyObject *value;
        failed = PyDict_GetItemRef(dict, key, &value) < 0;
        if (!failed) {
            long count = value == NULL ? 0 : PyLong_AsLong(value);
            Py_XDECREF(value);
            PyObject *next = PyLong_FromLong(count + 1);
            failed = next == NULL || PyDict_SetItem(dict, key, next) < 0;
            Py_XDECREF(next);
        }
        Py_END_CRITICAL_SECTION();
    }
    if (failed) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* A C11 atomic counter. */
static atomic_long atomic_counter;

static NOINLINE PyObject *
clean_atomic_counter(PyObject *self, PyObject *arg)
{
    long n;
    if (count_of(arg, &n) < 0 || meet(self, NULL) == NULL) {
        return NULL;
    }
    for (long i = 0; i < n; i++) {
        atomic_fetch_add_explicit(&atomic_counter, 1, memory_order_relaxed);
    }
    return PyLong_FromLong(atomic_load(&atomic_counter));
}

/* Objects handed from one thread to another by a queue.Queue: the producer
   fills a new bytearray in C, the consumer reads it in C. */
static NOINLINE PyObject *
clean_handoff_make(PyObject *self, PyObject *arg)
{
    long value;
    if (count_of(arg, &value) < 0) {
        return NULL;
    }
    PyObject *bytes = PyByteArray_FromStringAndSize(NULL, 64);
    if (bytes != NULL) {
        memset(PyByteArray_AS_STRING(bytes), (int)(value & 0x7f), 64);
    }
    return bytes;
}

static NOINLINE PyObject *
clean_handoff_take(PyObject *self, PyObject *arg)
{
    if (!PyByteArray_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "expected a bytearray");
        return NULL;
    }
    const char *data = PyByteArray_AS_STRING(arg);
    long sum = 0;
    for (Py_ssize_t i = 0; i < PyByteArray_GET_SIZE(arg); i++) {
        sum += data[i];
    }
    /* A write too: the consumer owns the object now. */
    memset(PyByteArray_AS_STRING(arg), 0, PyByteArray_GET_SIZE(arg));
    return PyLong_FromLong(sum);
}

/* A thread that C code starts, not the threading module, and that attaches
   later through PyGILState_Ensure(): meanwhile the main thread fills ITEMS
   with new int objects, and the C thread then sums them.  Ordered by the
   runtime alone: the objects were written after the thread was created,
   and before the thread attached (the runtime then stops the world once). */
struct foreign_work {
    PyObject *items;
    long sum;
};

static void *
foreign_thread(void *arg)
{
    struct foreign_work *work = arg;
    usleep(20 * 1000);      /* the main thread goes on meanwhile */
    PyGILState_STATE gstate = PyGILState_Ensure();
    for (Py_ssize_t i = 0; ; i++) {
        PyObject *item = PyList_GetItemRef(work->items, i);
        if (item == NULL) {
            PyErr_Clear();
            break;
        }
        work->sum += PyLong_AsLong(item);
        Py_DECREF(item);
    }
    PyGILState_Release(gstate);
    return NULL;
}

static NOINLINE PyObject *
clean_foreign_thread(PyObject *self, PyObject *args)
{
    struct foreign_work work = {NULL, 0};
    long n;
    if (!PyArg_ParseTuple(args, "O!l", &PyList_Type, &work.items, &n)) {
        return NULL;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, foreign_thread, &work) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "pthread_create() failed");
        return NULL;
    }
    int failed = 0;
    for (long i = 0; i < n && !failed; i++) {
        /* Not a small int: a new object each. */
        PyObject *item = PyLong_FromLong(1000003 * i);
        failed = item == NULL || PyList_Append(work.items, item) < 0;
        Py_XDECREF(item);
    }
    Py_BEGIN_ALLOW_THREADS
    pthread_join(thread, NULL);
    Py_END_ALLOW_THREADS
    return failed ? NULL : PyLong_FromLong(work.sum);
}


static PyMethodDef seededraces_methods[] = {
    {"meet", meet, METH_NOARGS, "wait at the barrier for the other thread"},
    {"race_counter", race_counter, METH_O, NULL},
    {"race_lazy_cache", race_lazy_cache, METH_NOARGS, NULL},
    {"race_list_items", race_list_items, METH_VARARGS, NULL},
    {"clean_mutex_counter", clean_mutex_counter, METH_O, NULL},
    {"clean_critical_section", clean_critical_section, METH_VARARGS, NULL},
    {"clean_atomic_counter", clean_atomic_counter, METH_O, NULL},
    {"clean_handoff_make", clean_handoff_make, METH_O, NULL},
    {"clean_handoff_take", clean_handoff_take, METH_O, NULL},
    {"clean_foreign_thread", clean_foreign_thread, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef seededraces_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "seededraces",
    .m_doc = "One data race per race_ function, for Helgrind and DRD.",
    .m_size = -1,
    .m_methods = seededraces_methods,
};

PyMODINIT_FUNC
PyInit_seededraces(void)
{
    pthread_barrier_init(&barrier, NULL, 2);
    PyObject *m = PyModule_Create(&seededraces_module);
#ifdef Py_GIL_DISABLED
    /* Declared safe without the GIL, as a ported extension is: the races
       are the bugs under test. */
    if (m != NULL && PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED) < 0) {
        Py_CLEAR(m);
    }
#endif
    return m;
}
