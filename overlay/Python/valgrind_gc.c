/* Valgrind support: at exit, what Memcheck's leak checker cannot see.

   Under Memcheck, in malloc and pool modes, every object that has a header
   (the GC header, the pre-header) is announced at its PyObject address
   (Objects/obmalloc_valgrind.h).  The leak checker then tells by itself
   what live memory holds: a pointer to an object is a start pointer, held
   by a C static, a C struct on the heap or another object alike; the
   headers, and the GC's links in them, are not scanned; an instance's
   pre-header, which may hold its dict, is reached from the instance.  A
   container that only the GC's lists hold is lost.  What remains is the
   free-threaded build's runtime objects (below): objects that nothing
   points to any more, on purpose.

   It runs under Memcheck only: the other tools check no leaks.
   pycore_valgrind.h gives the overview. */

#include "Python.h"
#include "pycore_gc.h"            // _PyGCHead_NEXT()
#include "pycore_llist.h"         // llist_for_each()
#include "pycore_tstate.h"        // _PyThreadStateImpl
#include "pycore_interp.h"        // PyInterpreterState.gc
#include "pycore_object.h"        // _PyObject_ManagedDictPointer()
#include "pycore_valgrind.h"
#include "pycore_valgrind_track.h" // _PyTrack_IsAddressable()

#ifdef WITH_VALGRIND

#ifdef Py_GIL_DISABLED

/* What the free-threaded runtime leaves behind at exit.

   Objects whose reference count cannot reach zero stay in mimalloc's
   pages after the interpreter is cleared: immortal ones (code constants,
   interned strings) and those with deferred reference counts (functions,
   code, types, modules, the descriptors of static types), which only a
   collection frees, and none runs after the types are finalised.  Nothing
   points to them any more, so Memcheck would call each "definitely lost",
   about fifty records for -c pass.  They are the runtime's own: keep each
   reachable by a start pointer (what they hold lies in mimalloc's
   segments, which are scanned).  An object that a program leaked (a
   reference never released) is neither immortal nor deferred: it stays
   lost, reported at its allocation.

   Two more kinds are left behind by biased reference counting and QSBR:
   an object whose last reference another thread than its owner dropped
   waits, with a count of zero or less, for its owner to merge the counts
   (the owner is gone, and no collection merges them any more); and the
   main thread's queue of delayed frees (_PyMem_FreeDelayed()) is handed
   to the interpreter after the interpreter's queue was emptied for the
   last time.  Both are kept reachable too: the program did not leak them.

   Called once the thread states' heaps are abandoned to the interpreter's
   pool, where the GC finds them too.  mimalloc hands out blocks that held
   other things before: only a block whose header is defined and names a
   type is an object. */

typedef struct {
    size_t offset;              /* of the object in its block */
} exit_walk;

static int
holds_object(PyObject *op)
{
    char vbits[sizeof(PyObject)];
    if (VALGRIND_GET_VBITS(op, vbits, sizeof(vbits)) != 1) {
        return 0;
    }
    for (size_t i = 0; i < sizeof(vbits); i++) {
        if (vbits[i] != 0) {
            return 0;
        }
    }
    PyTypeObject *type = Py_TYPE(op);
    return (type != NULL && _PyTrack_IsAddressable(type)
            && Py_IS_TYPE(type, &PyType_Type));
}

static bool
keep_runtime_object(const mi_heap_t *Py_UNUSED(heap),
                    const mi_heap_area_t *Py_UNUSED(area), void *block,
                    size_t Py_UNUSED(block_size), void *arg)
{
    exit_walk *walk = arg;
    if (block == NULL) {
        return true;
    }
    PyObject *op = (PyObject *)((char *)block + walk->offset);
    if (holds_object(op)
        && (_Py_IsImmortal(op) || _PyObject_HasDeferredRefcount(op)
            || Py_REFCNT(op) <= 0))
    {
        _PyValgrind_KeepReachable(op);      /* announced at op */
    }
    return true;
}

void
_PyValgrind_KeepRuntimeObjectsReachable(PyInterpreterState *interp)
{
    if (!_PyValgrind_ChecksLeaks()) {
        return;
    }
    mi_abandoned_pool_t *pool = &interp->mimalloc.abandoned_pool;
    exit_walk walk = {0};
    /* What the walk reads is no access of the program's. */
    VALGRIND_DISABLE_ERROR_REPORTING;
    (void)_mi_abandoned_pool_visit_blocks(pool, _Py_MIMALLOC_HEAP_OBJECT, true,
                                          keep_runtime_object, &walk);
    (void)_mi_abandoned_pool_visit_blocks(pool, _Py_MIMALLOC_HEAP_GC, true,
                                          keep_runtime_object, &walk);
    walk.offset = 2 * sizeof(PyObject *);   /* the pre-header */
    (void)_mi_abandoned_pool_visit_blocks(pool, _Py_MIMALLOC_HEAP_GC_PRE, true,
                                          keep_runtime_object, &walk);
    VALGRIND_ENABLE_ERROR_REPORTING;

    struct llist_node *queue =
        &((_PyThreadStateImpl *)_PyThreadState_GET())->mem_free_queue;
    struct llist_node *chunk;
    llist_for_each(chunk, queue) {
        _PyValgrind_KeepReachable(chunk);   /* its first member */
    }
}

#endif  /* Py_GIL_DISABLED */
#endif  /* WITH_VALGRIND */
