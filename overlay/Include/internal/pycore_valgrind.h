#ifndef Py_INTERNAL_VALGRIND_H
#define Py_INTERNAL_VALGRIND_H
#ifdef __cplusplus
extern "C" {
#endif

#ifndef Py_BUILD_CORE
#  error "this header requires Py_BUILD_CORE define"
#endif

/* How pymalloc behaves under Valgrind (configure --with-valgrind).

   The decision is taken once, by the first PyMem_/PyObject_ allocation of the
   process: until then the allocator tables hold the "first use" functions
   declared below, which decide, put the chosen functions into the tables and
   forward the call.  From then on no allocation tests anything: off Valgrind
   the tables hold pymalloc's own functions, as in a build without the feature.

   Under Valgrind the tool and PYTHONVALGRIND choose (Misc/README.valgrind):
   tools that track heap blocks (memcheck, helgrind, drd, massif, dhat) get the
   C library allocator, so that they see every block; the others (callgrind,
   cachegrind, lackey, none) keep pymalloc, so that profiles show the real
   allocator.  PYTHONVALGRIND=pool keeps pymalloc under Memcheck and
   announces each of its blocks to Memcheck (pycore_valgrind_track.h), so
   that Memcheck checks them as it checks malloc() blocks.  The
   implementation is in Objects/obmalloc_valgrind.h. */

typedef enum {
    _PyValgrind_UNDECIDED = 0,  /* no PyMem_/PyObject_ allocation yet */
    _PyValgrind_NATIVE,         /* not running under Valgrind: pymalloc */
    _PyValgrind_MALLOC,         /* under Valgrind, routed to malloc() */
    _PyValgrind_PYMALLOC,       /* under Valgrind, pymalloc kept */
    _PyValgrind_POOL,           /* under Memcheck, pymalloc kept, its blocks
                                   announced to Memcheck one by one */
} _PyValgrind_Mode;

/* The mode of the process (deciding it now if no allocation did yet). */
extern _PyValgrind_Mode _PyValgrind_GetMode(void);

/* "native", "malloc", "pymalloc" or "pool". */
extern const char * _PyValgrind_ModeName(_PyValgrind_Mode mode);

/* The running Valgrind tool ("memcheck", "callgrind", ...), or NULL when not
   running under Valgrind or when the tool cannot be told. */
extern const char * _PyValgrind_GetToolName(void);

/* Check the PYTHONVALGRIND environment variable: an unknown value is an
   error at startup, as an unknown PYTHONMALLOC is. */
extern PyStatus _PyValgrind_CheckEnv(void);

/* --- Memcheck silent on correct code (routed and pool modes) ------------

   Release builds keep some objects until the process ends (immortal interned
   strings).  _PyValgrind_KeepReachable() records the start of such a heap
   block in a table that a static variable points to, so that heap-tracking
   tools classify it "still reachable" rather than "definitely lost". */
extern void _PyValgrind_KeepReachable(void *block);

/* Object freelists hand a freed object's memory to the next object of the
   same type: a leaked float would carry the allocation stack of whatever
   first used that memory, and a read after the last Py_DECREF would read a
   live object.  When routed or in pool mode, every freelist of the
   interpreter is put in the "disabled" state that finalisation uses
   (numfree == -1), once, at its creation; the push paths already test that
   state, so no test is added. */
struct _Py_object_freelists;
extern void _PyValgrind_InitFreeLists(struct _Py_object_freelists *freelists);

/* 1 if the freelists must stay disabled: a full collection clears them with
   is_finalization set to this. */
extern int _PyValgrind_FreeListsDisabled(void);

/* Objects still tracked by the GC when the interpreter is finalised are
   leaks, or are kept on purpose by C static variables (static types, the
   module state of single-phase extensions).  The GC lists link every tracked
   object by a pointer to the start of its block, so they make every leaked
   container "still reachable"; and a C variable points past the GC header,
   which Memcheck counts as an interior pointer ("possibly lost").

   When routed or in pool mode, _PyValgrind_ForgetGCLists() (from the GC's
   finalisation) keeps reachable, by start pointer, every object reachable
   from a type or a module that is still alive, and then drops the lists'
   links (each object's links point to itself, so a later untrack stays
   harmless).  What remains unreferenced is a leak, reported with its
   allocation stack. */
struct _gc_runtime_state;
extern void _PyValgrind_ForgetGCLists(struct _gc_runtime_state *gcstate);

/* The first-use functions that stand for pymalloc in the static allocator
   tables (pycore_pymem_init.h). */
extern void* _PyValgrind_FirstMalloc(void *ctx, size_t size);
extern void* _PyValgrind_FirstCalloc(void *ctx, size_t nelem, size_t elsize);
extern void* _PyValgrind_FirstRealloc(void *ctx, void *ptr, size_t size);
extern void _PyValgrind_FirstFree(void *ctx, void *ptr);

#define _PyValgrind_FIRST_USE_ALLOC \
    {NULL, _PyValgrind_FirstMalloc, _PyValgrind_FirstCalloc, \
     _PyValgrind_FirstRealloc, _PyValgrind_FirstFree}

#ifdef __cplusplus
}
#endif
#endif  /* !Py_INTERNAL_VALGRIND_H */
