/* wordstats: a small C extension with two bugs, for the per-test verdict
   example (README, "Your extension's tests under Memcheck").

   count(text)   -- number of words: correct.
   split(text)   -- list of the words: leaks the list of each call's
                    intermediate copy (a forgotten Py_DECREF).
   longest(text) -- length of the longest word: reads one byte past the end
                    of its scratch buffer. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* Copy TEXT's UTF-8 bytes into a PyMem buffer of exactly that size. */
static char *
copy_text(PyObject *text, Py_ssize_t *size)
{
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, size);
    if (utf8 == NULL) {
        return NULL;
    }
    char *copy = PyMem_Malloc(*size > 0 ? *size : 1);
    if (copy == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(copy, utf8, *size);
    return copy;
}

static PyObject *
count(PyObject *module, PyObject *text)
{
    Py_ssize_t size, words = 0;
    char *buf = copy_text(text, &size);
    if (buf == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < size; i++) {
        if (buf[i] != ' ' && (i == 0 || buf[i - 1] == ' ')) {
            words++;
        }
    }
    PyMem_Free(buf);
    return PyLong_FromSsize_t(words);
}

static PyObject *
split(PyObject *module, PyObject *text)
{
    PyObject *parts = PyObject_CallMethod(text, "split", NULL);
    if (parts == NULL) {
        return NULL;
    }
    PyObject *words = PySequence_List(parts);
    /* BUG: parts is never released: the list and its strings leak. */
    return words;
}

static PyObject *
longest(PyObject *module, PyObject *text)
{
    Py_ssize_t size, best = 0, run = 0;
    char *buf = copy_text(text, &size);
    if (buf == NULL) {
        return NULL;
    }
    /* BUG: <= reads buf[size], one byte past the end of the buffer, as if
       the copy had a terminating NUL. */
    for (Py_ssize_t i = 0; i <= size; i++) {
        char c = buf[i];
        if (c == ' ' || i == size) {
            run = 0;
        }
        else if (++run > best) {
            best = run;
        }
    }
    PyMem_Free(buf);
    return PyLong_FromSsize_t(best);
}

static PyMethodDef wordstats_methods[] = {
    {"count", count, METH_O, "Number of words of a str."},
    {"split", split, METH_O, "List of the words of a str."},
    {"longest", longest, METH_O, "Length of the longest word of a str."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef wordstats_module = {
    PyModuleDef_HEAD_INIT, "wordstats", NULL, -1, wordstats_methods,
};

PyMODINIT_FUNC
PyInit_wordstats(void)
{
    return PyModule_Create(&wordstats_module);
}
