/* Correct code that keeps Python objects alive from C, as real extensions
   do: Memcheck must report none of it.

   - hold_in_statics(): a single-phase init module's way of caching: a dict
     of tuples and ints, a list and an instance of a heap type, each held
     only by a C static variable (interior pointers past the GC header);
   - heap_types_with_heap_bases(): types created from specs whose base is
     itself a heap type, which makes CPython register each in its base's
     subclass registry (a dict of weak references keyed by ints);
   - hold_in_heap_struct(): a C struct in PyMem_Malloc() memory, itself
     held by a static, that holds a list and a dict;
   - hold_code_object(): a code object (not a GC object) held by a static,
     as Cython's modules hold theirs: its tuples of constants and names are
     held by nothing else;
   - hold_instance_dict(): an instance whose __dict__ was asked for, so
     that only its pre-header's managed-dict slot points to its dict. */

#include "Python.h"

static PyObject *properties;     /* a dict of tuples and ints */
static PyObject *names;          /* a list of str */
static PyObject *instance;       /* an instance of a heap type */
static PyObject *derived_types;  /* a tuple of heap types */
static struct {
    PyObject *list;
    PyObject *dict;
} *heap_struct;                  /* PyMem_Malloc() memory */
static PyObject *code;           /* a code object */
static PyObject *with_dict;      /* an instance with a materialised dict */

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

static PyObject *
hold_in_heap_struct(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    if (heap_struct != NULL) {
        Py_RETURN_NONE;
    }
    heap_struct = PyMem_Malloc(sizeof(*heap_struct));
    if (heap_struct == NULL) {
        return PyErr_NoMemory();
    }
    heap_struct->list = Py_BuildValue("[(ii)s]", 1, 2, "three");
    heap_struct->dict = Py_BuildValue("{s(ii)}", "four", 4, 5);
    if (heap_struct->list == NULL || heap_struct->dict == NULL) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
hold_code_object(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    if (code != NULL) {
        Py_RETURN_NONE;
    }
    code = Py_CompileString("x = (1, 'two', None)\n"
                            "def f(a, b=(3, 4)):\n"
                            "    return (a, b, 'five')\n",
                            "<held>", Py_file_input);
    if (code == NULL) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
hold_instance_dict(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    if (with_dict != NULL) {
        Py_RETURN_NONE;
    }
    PyObject *type = PyObject_CallFunction((PyObject *)&PyType_Type, "s(){}",
                                           "WithDict");
    if (type == NULL) {
        return NULL;
    }
    with_dict = PyObject_CallNoArgs(type);
    Py_DECREF(type);
    if (with_dict == NULL) {
        return NULL;
    }
    PyObject *dict = PyObject_GenericGetDict(with_dict, NULL);
    if (dict == NULL) {
        return NULL;
    }
    PyObject *value = Py_BuildValue("[ii]", 6, 7);
    int err = value == NULL ? -1 : PyDict_SetItemString(dict, "items", value);
    Py_XDECREF(value);
    Py_DECREF(dict);
    if (err < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef heldobjects_methods[] = {
    {"hold_in_statics", hold_in_statics, METH_NOARGS, NULL},
    {"heap_types_with_heap_bases", heap_types_with_heap_bases, METH_NOARGS,
     NULL},
    {"hold_in_heap_struct", hold_in_heap_struct, METH_NOARGS, NULL},
    {"hold_code_object", hold_code_object, METH_NOARGS, NULL},
    {"hold_instance_dict", hold_instance_dict, METH_NOARGS, NULL},
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
