/* leaky: a small C extension with a realistic leak, for `make demo`.

   checksum(data) copies its argument into a scratch buffer and sums the
   bytes.  On the empty-input early return it forgets to free the buffer: the
   kind of leak that pymalloc hides from Memcheck, because the 16-byte buffer
   lives inside one of pymalloc's arenas. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static PyObject *
checksum(PyObject *module, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    unsigned char *scratch = PyMem_Malloc(view.len + 16);
    if (scratch == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    if (view.len == 0) {
        PyBuffer_Release(&view);
        return PyLong_FromLong(0);          /* BUG: scratch is never freed */
    }
    memcpy(scratch, view.buf, view.len);
    unsigned long sum = 0;
    for (Py_ssize_t i = 0; i < view.len; i++) {
        sum += scratch[i];
    }
    PyMem_Free(scratch);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(sum);
}

static PyMethodDef leaky_methods[] = {
    {"checksum", checksum, METH_O, "Sum of the bytes of a buffer."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef leaky_module = {
    PyModuleDef_HEAD_INIT, "leaky", NULL, -1, leaky_methods,
};

PyMODINIT_FUNC
PyInit_leaky(void)
{
    return PyModule_Create(&leaky_module);
}
