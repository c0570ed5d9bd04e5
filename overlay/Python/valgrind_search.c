/* Valgrind support: a Memcheck leak search in the middle of a run
   (_valgrind.leak_check()), with what would wrongly keep leaked objects
   reachable hidden from it.
   pycore_valgrind.h gives the overview. */

#include "Python.h"
#include "pycore_interp.h"        // PyInterpreterState.gc
#include "pycore_pystate.h"       // HEAD_LOCK()
#include "pycore_valgrind.h"

#ifdef WITH_VALGRIND

#include <valgrind/memcheck.h>    // VALGRIND_DO_ADDED_LEAK_CHECK

#ifndef Py_GIL_DISABLED

/* --- mid-run: a search that stale frame pointers do not fool ------------

   Each object with a header is announced at its PyObject address
   (Objects/obmalloc_valgrind.h): the GC's links are not scanned, and a
   pointer to an object is a start pointer.  What remains:
   the free part of each thread's frame stack (above datastack_top) keeps
   stale copies of the pointers that returned frames held, so a leaked
   object would stay "possibly lost" there until a later frame overwrites
   the slot.  It is hidden, but its definedness is not known (in pool
   mode the chunks come from malloc() and are partly never written): it is
   saved before and restored after, bit for bit, so that no uninitialised
   byte is ever called defined.

   Hiding must leave no copy of a hidden pointer where the leak checker
   looks: the client request that marks a range passes its address through
   a stack slot.  So hiding runs in functions of their own, whose frames
   are dead (below the stack pointer, not scanned) when the search runs. */

/* The free part of one thread's frame stack, and its saved V bits. */
typedef struct {
    void *start;
    size_t size;
    unsigned char *vbits;
} hidden_range;

/* Hide the free part of every thread's frame stack; return the saved
   ranges (NULL if none), their number in *COUNT. */
static Py_NO_INLINE hidden_range *
hide_free_frame_stacks(PyInterpreterState *interp, size_t *count)
{
    size_t n = 0;
    for (PyThreadState *t = interp->threads.head; t != NULL; t = t->next) {
        n++;
    }
    *count = 0;
    hidden_range *ranges = n ? calloc(n, sizeof(hidden_range)) : NULL;
    if (ranges == NULL) {
        return NULL;
    }
    for (PyThreadState *t = interp->threads.head; t != NULL; t = t->next) {
        PyObject **top = t->datastack_top;
        size_t size = (char *)t->datastack_limit - (char *)top;
        if (top == NULL || size == 0 || *count == n) {
            continue;
        }
        unsigned char *vbits = malloc(size);
        /* 1: saved.  Otherwise (not addressable): not scanned anyway. */
        if (vbits == NULL || VALGRIND_GET_VBITS(top, vbits, size) != 1) {
            free(vbits);
            continue;
        }
        VALGRIND_MAKE_MEM_UNDEFINED(top, size);
        ranges[(*count)++] = (hidden_range){top, size, vbits};
    }
    return ranges;
}

static Py_NO_INLINE void
restore_free_frame_stacks(hidden_range *ranges, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        (void)VALGRIND_SET_VBITS(ranges[i].start, ranges[i].vbits,
                                 ranges[i].size);
        free(ranges[i].vbits);
    }
    free(ranges);
}

void
_PyValgrind_AddedLeakSearch(PyInterpreterState *interp)
{
    HEAD_LOCK(&_PyRuntime);
    size_t count;
    hidden_range *ranges = hide_free_frame_stacks(interp, &count);
    VALGRIND_DO_ADDED_LEAK_CHECK;
    restore_free_frame_stacks(ranges, count);
    HEAD_UNLOCK(&_PyRuntime);
}

#else   /* free-threaded build: the GC keeps no lists */

void
_PyValgrind_AddedLeakSearch(PyInterpreterState *Py_UNUSED(interp))
{
    VALGRIND_DO_ADDED_LEAK_CHECK;
}

#endif  /* Py_GIL_DISABLED */
#endif  /* WITH_VALGRIND */
