#ifndef Py_INTERNAL_VALGRIND_H
#define Py_INTERNAL_VALGRIND_H
#ifdef __cplusplus
extern "C" {
#endif

#ifndef Py_BUILD_CORE
#  error "this header requires Py_BUILD_CORE define"
#endif

/* Valgrind support (configure --with-valgrind): the hooks CPython calls.

   pymalloc decides once, at the first PyMem_/PyObject_ allocation of the
   process, how it runs: until then the allocator tables hold the "first use"
   functions declared below, which decide, write the chosen functions into
   the tables and forward the call.  From then on no allocation tests
   anything.  The modes (PYTHONVALGRIND, Misc/README.valgrind):

     native    not under Valgrind: pymalloc, the code of a build without
               this feature;
     malloc    PyMem_/PyObject_ go to malloc(), so that the tool sees each
               block: the default under the tools that track heap blocks
               (memcheck, helgrind, drd, massif, dhat), and under a tool that
               cannot be told or is not known here;
     pymalloc  pymalloc kept: the default under the tools that count
               instructions (callgrind, cachegrind, lackey, none, exp-bbv),
               so that profiles show the real allocator;
     pool      Memcheck only: pymalloc kept, each of its blocks announced to
               Memcheck (pycore_valgrind_track.h).

   Where the code is:
     Python/valgrind.c            the decision, the tool, the queries, and
                                  what keeps Memcheck silent on correct code
     Python/valgrind_gc.c         at exit, on the free-threaded build:
                                  the objects its runtime never frees
                                  stay reachable
     Python/valgrind_search.c     a leak search mid-run that stale frame
                                  pointers do not fool
     Objects/obmalloc_valgrind.h  malloc mode, pool mode and installing them
                                  (it needs obmalloc.c's static state)

   Every hook below compiles to nothing without WITH_VALGRIND, so CPython's
   files call them without #ifdef. */

typedef enum {
    _PyValgrind_UNDECIDED = 0,
    _PyValgrind_NATIVE,
    _PyValgrind_MALLOC,
    _PyValgrind_PYMALLOC,
    _PyValgrind_POOL,
} _PyValgrind_Mode;

#ifdef WITH_VALGRIND

/* --- the decision (Python/valgrind.c) ----------------------------------- */

/* The mode of the process, decided by the first call (of any thread). */
extern _PyValgrind_Mode _PyValgrind_GetMode(void);

/* "native", "malloc", "pymalloc" or "pool". */
extern const char * _PyValgrind_ModeName(_PyValgrind_Mode mode);

/* The running tool ("memcheck", "callgrind", ...); "unknown" under a
   Valgrind whose tool cannot be told; NULL natively. */
extern const char * _PyValgrind_GetToolName(void);

/* Where the tool's name came from: "request" (Valgrind 3.27 and later
   answer VALGRIND_GET_TOOLNAME), "maps" (/proc/self/maps), "none" (it
   cannot be told); NULL natively. */
extern const char * _PyValgrind_GetToolSource(void);

/* 1 if the running tool is Memcheck: its client requests may be issued. */
extern int _PyValgrind_RunningMemcheck(void);

/* An unknown PYTHONVALGRIND is an error at startup, as an unknown
   PYTHONMALLOC is. */
extern PyStatus _PyValgrind_CheckEnv(void);

/* --- Memcheck silent on correct code (malloc and pool modes) ------------

   Release builds keep some objects until the process ends (immortal
   interned strings).  _PyValgrind_KeepReachable() records the start of such
   a block (an object's PyObject address: where it is announced) in a table
   a static variable points to: "still reachable", not "definitely lost".
   Under Memcheck only. */
extern void _PyValgrind_KeepReachable(void *block);

/* 1 in malloc and pool modes: each PyMem_/PyObject_ block is then a heap
   block the tool tracks, with its own allocation stack. */
extern int _PyValgrind_EachBlockTracked(void);

/* 1 in malloc and pool modes under Memcheck, or under a tool that may be
   Memcheck renamed (one whose name cannot be told or is not known): leaks
   are checked, and each object with a header is announced at its PyObject
   address (Objects/obmalloc_valgrind.h).  Under the tools that check no
   leaks (helgrind, drd, massif, dhat, the profilers) nothing is announced,
   kept or walked. */
extern int _PyValgrind_ChecksLeaks(void);

/* Object freelists hand a freed object's memory to the next object of the
   same type: a leaked float would carry the allocation stack of whatever
   first used that memory, and a read after the last Py_DECREF would read a
   live object.  In malloc and pool modes every freelist of an interpreter
   starts, and stays after full collections, in the "disabled" state that
   finalisation uses; the push paths already test it. */
extern void _PyValgrind_InitFreeLists(PyInterpreterState *interp);
/* The free-threaded build keeps the freelists in each thread state. */
extern void _PyValgrind_InitThreadFreeLists(PyThreadState *tstate);
static inline int
_PyValgrind_FreeListsDisabled(void)
{
    return _PyValgrind_EachBlockTracked();
}

/* The free-threaded build, once the interpreter is cleared: keep reachable
   the objects its runtime never frees, immortal or with deferred reference
   counts (Python/valgrind_gc.c). */
#  ifdef Py_GIL_DISABLED
extern void _PyValgrind_KeepRuntimeObjectsReachable(PyInterpreterState *interp);
#  else
static inline void
_PyValgrind_KeepRuntimeObjectsReachable(PyInterpreterState *Py_UNUSED(i)) {}
#  endif

/* A Memcheck leak search (VALGRIND_DO_ADDED_LEAK_CHECK) in the middle of a
   run, with the stale pointers of the free part of the frame stacks hidden
   (Python/valgrind_search.c).
   Memcheck only. */
extern void _PyValgrind_AddedLeakSearch(PyInterpreterState *interp);

/* --- the allocator (Objects/obmalloc_valgrind.h) ------------------------ */

/* A subinterpreter whose pymalloc blocks are still in use when it is
   finalised leaks its arenas on purpose; in pool mode, keep reachable the
   tables that point to them. */
extern void _PyValgrind_KeepObmallocState(PyInterpreterState *interp);

/* The first-use functions that stand for pymalloc in the static allocator
   tables (pycore_pymem_init.h). */
extern void* _PyValgrind_FirstMalloc(void *ctx, size_t size);
extern void* _PyValgrind_FirstCalloc(void *ctx, size_t nelem, size_t elsize);
extern void* _PyValgrind_FirstRealloc(void *ctx, void *ptr, size_t size);
extern void _PyValgrind_FirstFree(void *ctx, void *ptr);
#  define _PyValgrind_FIRST_USE_ALLOC \
    {NULL, _PyValgrind_FirstMalloc, _PyValgrind_FirstCalloc, \
     _PyValgrind_FirstRealloc, _PyValgrind_FirstFree}

/* What "pymalloc" means in this process: the first-use functions until the
   decision, then the chosen ones.  obmalloc.c's PYMALLOC_ALLOC reads it, so
   that allocators set up after the decision (PYTHONMALLOC, a second
   Py_Initialize()) get the chosen functions.  Written under the allocators'
   lock. */
extern PyMemAllocatorEx _PyValgrind_Pymalloc;

/* The tag of the test that runs (its low byte 1-255), or 0: malloc mode
   allocates through functions named by the tag's bytes
   (Objects/obmalloc_valgrind.h). */
extern int _PyValgrind_TestTag;

#  define _PyValgrind_PYMALLOC_ALLOC \
    {NULL, _PyValgrind_Pymalloc.malloc, _PyValgrind_Pymalloc.calloc, \
     _PyValgrind_Pymalloc.realloc, _PyValgrind_Pymalloc.free}

/* The debug hooks (PYTHONMALLOC=debug, -X dev, --with-pydebug) decide at
   their first use too: the tables that hold them start out with first-use
   functions, which write into them CPython's debug functions (natively,
   under the tools that check no leaks), or the same ones telling Memcheck
   what the hooks' bytes are (Objects/obmalloc_valgrind_debug.h).
   _PyValgrind_DebugRawHooks and _PyValgrind_DebugHooks are what the debug
   hooks' functions are in this process (their ctx is unused): obmalloc.c's
   PYDBGRAW_ALLOC and friends read them. */
#  if defined(WITH_PYMALLOC) && !defined(Py_GIL_DISABLED)
extern void* _PyValgrind_FirstDebugRawMalloc(void *ctx, size_t size);
extern void* _PyValgrind_FirstDebugRawCalloc(void *ctx, size_t nelem,
                                             size_t elsize);
extern void* _PyValgrind_FirstDebugRawRealloc(void *ctx, void *ptr,
                                              size_t size);
extern void _PyValgrind_FirstDebugRawFree(void *ctx, void *ptr);
extern void* _PyValgrind_FirstDebugMalloc(void *ctx, size_t size);
extern void* _PyValgrind_FirstDebugCalloc(void *ctx, size_t nelem,
                                          size_t elsize);
extern void* _PyValgrind_FirstDebugRealloc(void *ctx, void *ptr, size_t size);
extern void _PyValgrind_FirstDebugFree(void *ctx, void *ptr);
#    define _PyValgrind_FIRST_USE_DEBUG_RAW(CTX) \
    {(CTX), _PyValgrind_FirstDebugRawMalloc, _PyValgrind_FirstDebugRawCalloc, \
     _PyValgrind_FirstDebugRawRealloc, _PyValgrind_FirstDebugRawFree}
#    define _PyValgrind_FIRST_USE_DEBUG(CTX) \
    {(CTX), _PyValgrind_FirstDebugMalloc, _PyValgrind_FirstDebugCalloc, \
     _PyValgrind_FirstDebugRealloc, _PyValgrind_FirstDebugFree}
extern PyMemAllocatorEx _PyValgrind_DebugRawHooks;
extern PyMemAllocatorEx _PyValgrind_DebugHooks;
#    define _PyValgrind_DEBUG_RAW_HOOKS(CTX) \
    {(CTX), _PyValgrind_DebugRawHooks.malloc, _PyValgrind_DebugRawHooks.calloc, \
     _PyValgrind_DebugRawHooks.realloc, _PyValgrind_DebugRawHooks.free}
#    define _PyValgrind_DEBUG_HOOKS(CTX) \
    {(CTX), _PyValgrind_DebugHooks.malloc, _PyValgrind_DebugHooks.calloc, \
     _PyValgrind_DebugHooks.realloc, _PyValgrind_DebugHooks.free}
#  endif
/* Objects whose type is known: the GC's allocations
   (pycore_object_alloc.h) go through this table in the default build, so
   that under Memcheck each object is announced at its PyObject address
   (Objects/obmalloc_valgrind.h).  It starts out with first-use functions,
   then holds functions that do what PyObject_Malloc() and friends do, or
   the same ones announcing. */
typedef struct {
    void *(*malloc)(PyTypeObject *type, size_t size);
    void *(*realloc)(PyTypeObject *type, void *ptr, size_t size);
    void (*free)(PyTypeObject *type, void *ptr);
    /* PyMem_ blocks that the program knows only by an address OFFSET
       bytes in: _PyStack_UnpackDict()'s argument arrays, which keep one
       slot ahead for PY_VECTORCALL_ARGUMENTS_OFFSET. */
    void *(*mem_malloc_at)(size_t offset, size_t size);
    void (*mem_free_at)(size_t offset, void *block);
} _PyValgrind_ObjectAllocator;

#  ifndef Py_GIL_DISABLED
extern _PyValgrind_ObjectAllocator _PyValgrind_Objects;
#    define _PyValgrind_ObjectMalloc(TYPE, SIZE) \
        _PyValgrind_Objects.malloc((TYPE), (SIZE))
#    define _PyValgrind_ObjectRealloc(TYPE, PTR, SIZE) \
        _PyValgrind_Objects.realloc((TYPE), (PTR), (SIZE))
#    define _PyValgrind_ObjectFree(TYPE, PTR) \
        _PyValgrind_Objects.free((TYPE), (PTR))
#    define _PyValgrind_MemMallocAt(OFFSET, SIZE) \
        _PyValgrind_Objects.mem_malloc_at((OFFSET), (SIZE))
#    define _PyValgrind_MemFreeAt(OFFSET, BLOCK) \
        _PyValgrind_Objects.mem_free_at((OFFSET), (BLOCK))
#  endif

#  ifdef Py_GIL_DISABLED
/* The free-threaded build serves PyMem_ and PyObject_ by mimalloc, from
   two heaps of each thread, and decides the same way: its tables start out
   with first-use functions of each domain, then hold mimalloc's functions
   (natively, under the tools that count instructions) or the same ones
   announcing each block to Memcheck (pool mode).  _PyValgrind_Mimalloc and
   _PyValgrind_MimallocObj are what "mimalloc" means in this process. */
extern void* _PyValgrind_FirstMemMalloc(void *ctx, size_t size);
extern void* _PyValgrind_FirstMemCalloc(void *ctx, size_t nelem, size_t elsize);
extern void* _PyValgrind_FirstMemRealloc(void *ctx, void *ptr, size_t size);
extern void _PyValgrind_FirstMemFree(void *ctx, void *ptr);
extern void* _PyValgrind_FirstObjMalloc(void *ctx, size_t size);
extern void* _PyValgrind_FirstObjCalloc(void *ctx, size_t nelem, size_t elsize);
extern void* _PyValgrind_FirstObjRealloc(void *ctx, void *ptr, size_t size);
extern void _PyValgrind_FirstObjFree(void *ctx, void *ptr);
#    define _PyValgrind_FIRST_USE_MIMALLOC \
    {NULL, _PyValgrind_FirstMemMalloc, _PyValgrind_FirstMemCalloc, \
     _PyValgrind_FirstMemRealloc, _PyValgrind_FirstMemFree}
#    define _PyValgrind_FIRST_USE_MIMALLOC_OBJ \
    {NULL, _PyValgrind_FirstObjMalloc, _PyValgrind_FirstObjCalloc, \
     _PyValgrind_FirstObjRealloc, _PyValgrind_FirstObjFree}
extern PyMemAllocatorEx _PyValgrind_Mimalloc;
extern PyMemAllocatorEx _PyValgrind_MimallocObj;
/* PyMem_Malloc() and PyMem_Free() for blocks known by an inner address,
   as in the default build; in pool mode the block is announced there. */
extern void *_PyValgrind_MiMallocAt(size_t offset, size_t size);
extern void _PyValgrind_MiFreeAt(size_t offset, void *block);
#    define _PyValgrind_MemMallocAt(OFFSET, SIZE) \
        _PyValgrind_MiMallocAt((OFFSET), (SIZE))
#    define _PyValgrind_MemFreeAt(OFFSET, BLOCK) \
        _PyValgrind_MiFreeAt((OFFSET), (BLOCK))
#    define _PyValgrind_MIMALLOC_ALLOC \
    {NULL, _PyValgrind_Mimalloc.malloc, _PyValgrind_Mimalloc.calloc, \
     _PyValgrind_Mimalloc.realloc, _PyValgrind_Mimalloc.free}
#    define _PyValgrind_MIMALLOC_OBJALLOC \
    {NULL, _PyValgrind_MimallocObj.malloc, _PyValgrind_MimallocObj.calloc, \
     _PyValgrind_MimallocObj.realloc, _PyValgrind_MimallocObj.free}
#  endif

#else   /* !WITH_VALGRIND: every hook is a no-op */

static inline PyStatus _PyValgrind_CheckEnv(void) { return PyStatus_Ok(); }
static inline void _PyValgrind_KeepReachable(void *Py_UNUSED(block)) {}
static inline void
_PyValgrind_InitFreeLists(PyInterpreterState *Py_UNUSED(interp)) {}
static inline void
_PyValgrind_InitThreadFreeLists(PyThreadState *Py_UNUSED(tstate)) {}
static inline int _PyValgrind_FreeListsDisabled(void) { return 0; }
static inline int _PyValgrind_ChecksLeaks(void) { return 0; }
static inline void
_PyValgrind_KeepObmallocState(PyInterpreterState *Py_UNUSED(interp)) {}
static inline void
_PyValgrind_KeepRuntimeObjectsReachable(PyInterpreterState *Py_UNUSED(i)) {}

#  define _PyValgrind_FIRST_USE_ALLOC \
    {NULL, _PyObject_Malloc, _PyObject_Calloc, _PyObject_Realloc, _PyObject_Free}
#  define _PyValgrind_PYMALLOC_ALLOC _PyValgrind_FIRST_USE_ALLOC

#endif  /* WITH_VALGRIND */

/* The free-threaded build of 3.13 makes every object with a deferred
   reference count (functions, code, descriptors, modules, heap types)
   immortal once a second thread starts, and each one made later immortal
   at birth (gh-117783: it spares threads the contended counts).  An
   immortal object is never freed: a function that a test defines and drops
   after a thread ran is "definitely lost" at the next leak search, on
   correct code.  Where leaks are checked the objects keep their deferred
   counts instead, as they have before the second thread and always have in
   subinterpreters, and a collection frees them; under Valgrind threads run
   one at a time, so the contention spared does not exist. */
static inline int
_PyValgrind_DeferredObjectsStayMortal(void)
{
    return _PyValgrind_ChecksLeaks();
}

/* Without the table: what the GC called before.  The free-threaded build
   announces its objects in mimalloc's functions, which know the heap. */
#if !defined(WITH_VALGRIND) || defined(Py_GIL_DISABLED)
#  define _PyValgrind_ObjectMalloc(TYPE, SIZE) PyObject_Malloc(SIZE)
#  define _PyValgrind_ObjectRealloc(TYPE, PTR, SIZE) PyObject_Realloc((PTR), (SIZE))
#  define _PyValgrind_ObjectFree(TYPE, PTR) PyObject_Free(PTR)
#endif
#ifndef WITH_VALGRIND
#  define _PyValgrind_MemMallocAt(OFFSET, SIZE) PyMem_Malloc(SIZE)
#  define _PyValgrind_MemFreeAt(OFFSET, BLOCK) PyMem_Free(BLOCK)
#endif

/* CPython's debug functions, where no first-use function stands for them
   (the free-threaded build: its debug hooks are not told to Memcheck). */
#if !defined(WITH_VALGRIND) || !defined(WITH_PYMALLOC) || defined(Py_GIL_DISABLED)
#  define _PyValgrind_FIRST_USE_DEBUG_RAW(CTX) \
    {(CTX), _PyMem_DebugRawMalloc, _PyMem_DebugRawCalloc, \
     _PyMem_DebugRawRealloc, _PyMem_DebugRawFree}
#  define _PyValgrind_FIRST_USE_DEBUG(CTX) \
    {(CTX), _PyMem_DebugMalloc, _PyMem_DebugCalloc, _PyMem_DebugRealloc, \
     _PyMem_DebugFree}
#  define _PyValgrind_DEBUG_RAW_HOOKS(CTX) _PyValgrind_FIRST_USE_DEBUG_RAW(CTX)
#  define _PyValgrind_DEBUG_HOOKS(CTX) _PyValgrind_FIRST_USE_DEBUG(CTX)
#endif
/* mimalloc's functions, where no first-use function stands for them. */
#if !defined(WITH_VALGRIND) || !defined(Py_GIL_DISABLED)
#  define _PyValgrind_FIRST_USE_MIMALLOC \
    {NULL, _PyMem_MiMalloc, _PyMem_MiCalloc, _PyMem_MiRealloc, _PyMem_MiFree}
#  define _PyValgrind_FIRST_USE_MIMALLOC_OBJ \
    {NULL, _PyObject_MiMalloc, _PyObject_MiCalloc, _PyObject_MiRealloc, \
     _PyObject_MiFree}
#  define _PyValgrind_MIMALLOC_ALLOC _PyValgrind_FIRST_USE_MIMALLOC
#  define _PyValgrind_MIMALLOC_OBJALLOC _PyValgrind_FIRST_USE_MIMALLOC_OBJ
#endif

#ifdef __cplusplus
}
#endif
#endif  /* !Py_INTERNAL_VALGRIND_H */
