/* Correct code that keeps Python objects alive from C, as real extensions
   do: Memcheck must report none of it.

   - hold_in_statics(): a single-phase init module's way of caching: a dict
     of tuples and ints, a list and an instance of a heap type, each held
     only by a C static variable (interior pointers past the GC header);
   - heap_types_with_heap_bases(): types created from specs whose base is
     itself a heap type, which makes CPython register each in its base's
     subclass registry (a dict of weak references keyed by ints). */

#include "Python.h"

static PyObject *properties;     /* a dict of tuples and ints */
static PyObject *names;          /* a list of str */
static PyObject *instance;       /* an instance of a heap type */
static PyObject *derived_types;  /* a tuple of heap types */

static PyObject *
hold_in_statics(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    if (properties != NULL) {
        Py_RETURN_NONE;
    }
    properties = PyDict_New();
    names = PyList_New(0);
    if (properties == NULL || names == NULL) {
        return NULL;
    }
    for (int i = 0; i < 50; i++) {
        PyObject *key = PyUnicode_FromFormat("property%d", i);
        PyObject *value = Py_BuildValue("(iis)", i, i * 1000003, "unit");
        if (key == NULL || value == NULL
            || PyDict_SetItem(properties, key, value) < 0
            || PyList_Append(names, key) < 0)
        {
            Py_XDECREF(key);
            Py_XDECREF(value);
            return NULL;
        }
        Py_DECREF(key);
        Py_DECREF(value);
    }
    PyObject *type = PyObject_CallFunction((PyObject *)&PyType_Type, "s(){}",
                                           "Holder");
    if (type == NULL) {
        return NULL;
    }
    instance = PyObject_CallNoArgs(type);
    Py_DECREF(type);
    if (instance == NULL) {
        return NULL;
    }
    Py_RETURN_NONE;
}

typedef struct {
    PyObject_HEAD
    PyObject *payload;
} Node;

static int
node_traverse(Node *self, visitproc visit, void *arg)
{
    Py_VISIT(self->payload);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static int
node_clear(Node *self)
{
    Py_CLEAR(self->payload);
    return 0;
}

static void
node_dealloc(Node *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    (void)node_clear(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyType_Slot node_slots[] = {
    {Py_tp_traverse, node_traverse},
    {Py_tp_clear, node_clear},
    {Py_tp_dealloc, node_dealloc},
    {0, NULL},
};

static PyType_Spec base_spec = {
    "heldobjects.Base", sizeof(Node), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, node_slots,
};

static PyType_Spec derived_spec = {
    "heldobjects.Derived", sizeof(Node), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, node_slots,
};

static PyObject *
heap_types_with_heap_bases(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    if (derived_types != NULL) {
        Py_RETURN_NONE;
    }
    PyObject *base = PyType_FromModuleAndSpec(module, &base_spec, NULL);
    if (base == NULL) {
        return NULL;
    }
    derived_types = PyTuple_New(3);
    if (derived_types == NULL) {
        Py_DECREF(base);
        return NULL;
    }
    for (int i = 0; i < 3; i++) {
        PyObject *derived = PyType_FromModuleAndSpec(module, &derived_spec,
                                                     base);
        if (derived == NULL) {
            Py_DECREF(base);
            return NULL;
        }
        PyTuple_SET_ITEM(derived_types, i, derived);
    }
    Py_DECREF(base);
    Py_RETURN_NONE;
}

static PyMethodDef heldobjects_methods[] = {
    {"hold_in_statics", hold_in_statics, METH_NOARGS, NULL},
    {"heap_types_with_heap_bases", heap_types_with_heap_bases, METH_NOARGS,
     NULL},
    {NULL, NULL},
};

static struct PyModuleDef heldobjects_module = {
    PyModuleDef_HEAD_INIT, "heldobjects", NULL, -1, heldobjects_methods,
};

/* Single-phase init: the module and its statics live until the process
   ends. */
PyMODINIT_FUNC
PyInit_heldobjects(void)
{
    return PyModule_Create(&heldobjects_module);
}
