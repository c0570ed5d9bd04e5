#ifndef Py_INTERNAL_VALGRIND_SYNC_H
#define Py_INTERNAL_VALGRIND_SYNC_H
/* drd.h declares C++ templates, and this header is included inside other
   headers' extern "C" blocks; extensions compiled as C++ include them too
   (Cython's modules include pycore_frame.h). */
#ifdef WITH_VALGRIND
#  ifdef __cplusplus
extern "C++" {
#  endif
#  include <valgrind/helgrind.h>
#  include <valgrind/drd.h>
#  ifdef __cplusplus
}
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifndef Py_BUILD_CORE
#  error "this header requires Py_BUILD_CORE define"
#endif

/* What the runtime tells a thread checker, one name per synchronisation
   event.

   Helgrind and DRD understand pthreads and POSIX semaphores only.  The
   free-threaded runtime synchronises with C11 atomics of its own: PyMutex
   and the parking lot, critical sections, biased reference counting,
   mimalloc's cross-thread free lists, QSBR, stop-the-world.  The checkers
   see none of it, so every object two threads touch looks raced on.  Each
   name below says which ordering is real; each maps to Valgrind client
   requests, and without WITH_VALGRIND each compiles to nothing.

   The requests cost a few instructions natively, but some of these events
   sit on hot paths (every PyMutex operation), so each is issued only when
   _PySync_Tool says a thread checker runs: Python/valgrind.c sets it once,
   when it decides the allocator's mode at the first allocation (before
   any second thread exists).  It is exported: the inline fast paths of
   cpython/lock.h are compiled into core modules built as shared
   libraries too.  Natively the cost is one load and one
   not-taken branch, and only where an event sits on a fast path.

   Mapping (the ANNOTATE_HAPPENS_* requests of helgrind.h are understood by
   DRD too: same request codes):
     _PySync_HappensBefore(a)   ANNOTATE_HAPPENS_BEFORE(a)
     _PySync_HappensAfter(a)    ANNOTATE_HAPPENS_AFTER(a)
     _PySync_HappensAfterLast(a)  the same, then (Helgrind) forget the
                                synchronisation object kept for A: A's
                                memory is about to be freed and reused
     _PySync_MutexLocked(m)     ANNOTATE_HAPPENS_AFTER(m), after acquiring
     _PySync_MutexUnlocking(m)  ANNOTATE_HAPPENS_BEFORE(m), before releasing
     _PySync_BenignRace(a,n,why) Helgrind: VALGRIND_HG_DISABLE_CHECKING;
                                DRD: DRD_START_SUPPRESSION (the requests
                                differ: the tool decides which)
     _PySync_NewMemory(a,n)     VALGRIND_HG_CLEAN_MEMORY (= DRD_CLEAN_MEMORY):
                                A..A+N is fresh, as malloc()'s blocks are
     _PySync_SemPosting(s), _PySync_SemAcquired(s)  happens-before/after
                                on a key next to a sem_t (below)

   PyMutex is told as happens-before/after, not as a Helgrind mutex
   (VALGRIND_HG_MUTEX_*): a threading.Lock (a PyMutex) may be released by
   another thread than the one that acquired it, which Helgrind reports;
   critical sections release and retake their mutexes when they block, so
   Helgrind's lock-order graph would see inversions that cannot deadlock;
   and the inline fast paths and the slow paths may both tell an unlock.
   Happens-before is exactly the ordering a mutex gives, and both tools
   understand it.

   What is deliberately NOT told as happens-before: synchronisation that
   exists only inside the allocator or for reclamation (mimalloc's
   cross-thread free lists and abandoned-segment visits, QSBR's quiescent
   states).  Told as edges they order whole thread histories at every
   cross-thread free or eval-breaker check, and hide real races in
   extension code (a seeded race went unreported).  Instead the memory
   involved is taken out of checking while it is the allocator's (free-list
   links, segment metadata) and told fresh when it is handed out again
   (_PySync_NewMemory(), as the checkers' own malloc() does).

   While only one thread runs Python code there is no ordering to tell, and
   telling it is what costs: DRD starts a new segment at every
   happens-before or -after and records where each new address was first
   told (imports 26 times slower than without the events), Helgrind keeps
   a synchronisation object per address (twice as slow).  So the
   happens-before/after and fresh-memory events are told only once the
   runtime has created a second thread state (_PySync_SecondThreadState()):
   a thread that the threading module starts gets its thread state from its
   parent, before it exists, and pthread_create() orders the parent's past
   before it.  A thread that C code started and that attaches through
   PyGILState_Ensure() may have existed while the others ran untold: its
   first attach stops the world once (_PySync_ForeignThreadAttached()),
   which orders every other thread's past before it; for that, a thread's
   detach is told from the start (_PySync_ThreadDetaching()).  (The first
   thread state besides the main one also stops the world, to immortalize
   objects with deferred reference counts; a thread that C code started
   before a later one is what needs the second stop.)  Not covered:
   a thread state made with PyThreadState_New() in one thread for a thread
   that C code had started before, while a single thread ran. */

#define _PySync_NONE 0
#define _PySync_HELGRIND 1
#define _PySync_DRD 2

#ifdef WITH_VALGRIND

/* -1 until decided; then _PySync_NONE natively and under the tools that
   check no threads, else the checker.  Decided once (Python/valgrind.c). */
PyAPI_DATA(int) _PySync_Tool;

/* The requests.  Each event below issues one of these, out of line
   (Python/valgrind.c): inlined into a hot function, a request's inline
   assembly (a compiler barrier) changes the code around it. */
static inline void
_PySync_RequestHappensBefore(const void *addr)
{
    ANNOTATE_HAPPENS_BEFORE(addr);
}

static inline void
_PySync_RequestHappensAfter(const void *addr)
{
    ANNOTATE_HAPPENS_AFTER(addr);
}

/* Helgrind keeps a synchronisation object per address told; forget it
   when the memory is about to be freed and reused. */
static inline void
_PySync_RequestForget(const void *addr)
{
    if (_PySync_Tool == _PySync_HELGRIND) {
        ANNOTATE_HAPPENS_BEFORE_FORGET_ALL(addr);
    }
}

static inline void
_PySync_RequestBenignRace(const void *addr, size_t size)
{
    if (_PySync_Tool == _PySync_HELGRIND) {
        VALGRIND_HG_DISABLE_CHECKING(addr, size);
    }
    else {
        VALGRIND_DO_CLIENT_REQUEST_STMT(VG_USERREQ__DRD_START_SUPPRESSION,
                                        addr, size, 0, 0, 0);
    }
}

static inline void
_PySync_RequestNewMemory(const void *addr, size_t size)
{
    VALGRIND_HG_CLEAN_MEMORY(addr, size);
}

PyAPI_FUNC(void) _PySync_HappensBeforeSlow(const void *addr);
PyAPI_FUNC(void) _PySync_HappensAfterSlow(const void *addr);
PyAPI_FUNC(void) _PySync_HappensAfterLastSlow(const void *addr);
PyAPI_FUNC(void) _PySync_NewMemorySlow(const void *addr, size_t size);
PyAPI_FUNC(void) _PySync_SecondThreadStateSlow(void);
PyAPI_FUNC(void) _PySync_ForeignThreadAttachedSlow(PyThreadState *tstate);
PyAPI_FUNC(void) _PySync_ThreadDetachingSlow(const void *addr);
PyAPI_FUNC(void) _PySync_SemaphoreDestroyedSlow(const void *addr,
                                                size_t size);
/* Benign races are told where memory is set up, which may be before the
   first allocation has decided the tool (the runtime's first structures
   come from malloc()): this one decides first. */
PyAPI_FUNC(void) _PySync_BenignRaceSlow(const void *addr, size_t size);

#  if defined(__GNUC__) || defined(__clang__)
#    define _PySync_Enabled() __builtin_expect(_PySync_Tool > 0, 0)
#    define _PySync_MaybeEnabled() __builtin_expect(_PySync_Tool != 0, 0)
#  else
#    define _PySync_Enabled() (_PySync_Tool > 0)
#    define _PySync_MaybeEnabled() (_PySync_Tool != 0)
#  endif
#  define _PySync_WHEN_ENABLED(CALL) \
       do { if (_PySync_Enabled()) { CALL; } } while (0)

#  define _PySync_HappensBefore(ADDR) \
       _PySync_WHEN_ENABLED(_PySync_HappensBeforeSlow(ADDR))
#  define _PySync_HappensAfter(ADDR) \
       _PySync_WHEN_ENABLED(_PySync_HappensAfterSlow(ADDR))
#  define _PySync_HappensAfterLast(ADDR) \
       _PySync_WHEN_ENABLED(_PySync_HappensAfterLastSlow(ADDR))
/* The runtime creates a thread state besides the main interpreter's first:
   from now on the events above are told (pycore_valgrind_sync.h's
   introduction).  Called before the thread it is for runs. */
#  define _PySync_SecondThreadState() \
       _PySync_WHEN_ENABLED(_PySync_SecondThreadStateSlow())
/* TSTATE, of a thread that C code started, attached for the first time:
   stop the world once, so that what every other thread did, told or not,
   comes before what this one does. */
#  define _PySync_ForeignThreadAttached(TSTATE) \
       _PySync_WHEN_ENABLED(_PySync_ForeignThreadAttachedSlow(TSTATE))
/* The thread detaches its thread state, whose state field is at ADDR: what
   it did attached comes before a stop-the-world requester that parks it.
   Told even while one thread runs (for _PySync_ForeignThreadAttached()). */
#  define _PySync_ThreadDetaching(ADDR) \
       _PySync_WHEN_ENABLED(_PySync_ThreadDetachingSlow(ADDR))
/* The semaphore at ADDR (SIZE bytes, told benign while it lived: see
   parking_lot.c) is destroyed: its memory is checked again, as fresh.
   Told even while one thread runs: the benign range was too. */
#  define _PySync_SemaphoreDestroyed(ADDR, SIZE) \
       _PySync_WHEN_ENABLED(_PySync_SemaphoreDestroyedSlow((ADDR), (SIZE)))
#  define _PySync_MutexLocked(M) _PySync_HappensAfter(M)
#  define _PySync_MutexUnlocking(M) _PySync_HappensBefore(M)
/* A POSIX semaphore posted / acquired by a call the checkers do not
   intercept (sem_trywait() and sem_clockwait() for Helgrind 3.19,
   sem_clockwait() for DRD).  Told on a key one byte into the sem_t: DRD
   tracks the sem_t itself as a semaphore and refuses another kind of
   synchronisation object at its address. */
#  define _PySync_SemPosting(SEM) \
       _PySync_HappensBefore((const char *)(SEM) + 1)
#  define _PySync_SemAcquired(SEM) \
       _PySync_HappensAfter((const char *)(SEM) + 1)
#  define _PySync_NewMemory(ADDR, SIZE) \
       _PySync_WHEN_ENABLED(_PySync_NewMemorySlow((ADDR), (SIZE)))
#  define _PySync_BenignRace(ADDR, SIZE, WHY) \
       do { \
           if (_PySync_MaybeEnabled()) { \
               _PySync_BenignRaceSlow((ADDR), (SIZE)); \
           } \
       } while (0)

/* The fields of *OBJ from FIELD to the end of its struct. */
#  define _PySync_BenignRaceFrom(OBJ, FIELD, WHY) \
       _PySync_BenignRace(&(OBJ)->FIELD, \
                          (char *)((OBJ) + 1) - (char *)&(OBJ)->FIELD, WHY)

#else   /* !WITH_VALGRIND */

#  define _PySync_Enabled() 0
#  define _PySync_HappensBefore(ADDR) ((void)0)
#  define _PySync_HappensAfter(ADDR) ((void)0)
#  define _PySync_HappensAfterLast(ADDR) ((void)0)
#  define _PySync_SecondThreadState() ((void)0)
#  define _PySync_ForeignThreadAttached(TSTATE) ((void)0)
#  define _PySync_ThreadDetaching(ADDR) ((void)0)
#  define _PySync_SemaphoreDestroyed(ADDR, SIZE) ((void)0)
#  define _PySync_MutexLocked(M) ((void)0)
#  define _PySync_MutexUnlocking(M) ((void)0)
#  define _PySync_SemPosting(SEM) ((void)0)
#  define _PySync_SemAcquired(SEM) ((void)0)
#  define _PySync_BenignRace(ADDR, SIZE, WHY) ((void)0)
#  define _PySync_BenignRaceFrom(OBJ, FIELD, WHY) ((void)0)
#  define _PySync_NewMemory(ADDR, SIZE) ((void)0)

#endif  /* WITH_VALGRIND */

/* An object's dict is made, or materialized from its inline values, and
   stored by a release store under the object's critical section; generic
   attribute access loads it back by an acquire load without the lock.
   Told at that reader as a locked read would be: after the object's last
   critical section.  (Without it, the reader's first look at the dict, its
   type, was reported against the dict's allocation.)  The same loads in
   generic setattr and __dict__ are not told: there the request's branch
   changed how dictobject.c's dict lookup was compiled, 0.14% of the bench
   workload natively. */
#ifdef Py_GIL_DISABLED
#  define _PySync_ObjectDictLoaded(OBJ) \
       _PySync_MutexLocked(&_PyObject_CAST(OBJ)->ob_mutex)
#else
#  define _PySync_ObjectDictLoaded(OBJ) ((void)0)
#endif

#ifdef __cplusplus
}
#endif
#endif  /* !Py_INTERNAL_VALGRIND_SYNC_H */
