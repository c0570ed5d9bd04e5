#ifndef Py_INTERNAL_VALGRIND_TRACK_H
#define Py_INTERNAL_VALGRIND_TRACK_H
#ifdef __cplusplus
extern "C" {
#endif

#ifndef Py_BUILD_CORE
#  error "this header requires Py_BUILD_CORE define"
#endif

/* What an allocator tells a memory checker, one name per event.

   pymalloc carves its blocks out of arenas that Memcheck sees as single
   heap blocks.  To check each pymalloc block as Memcheck checks a malloc()
   block, pymalloc has to say, as it goes, which bytes form a block the
   caller owns and which bytes nobody may touch.  These are the only words
   it needs; each maps to one Valgrind client request, and without
   WITH_VALGRIND each compiles to nothing.

   They are Memcheck requests.  Only call them once Memcheck is known to be
   the running tool (pool mode, Objects/obmalloc_valgrind.h): other tools
   ignore them at best, and DHAT prints a warning for each. */

#ifdef WITH_VALGRIND
#  include <valgrind/memcheck.h>

/* SIZE bytes at P now belong to a caller: addressable, undefined (defined
   if ZEROED), with the allocation stack recorded for leak reports.  No
   redzone: pymalloc puts no gap between its blocks. */
#  define _PyTrack_BlockAllocated(P, SIZE, ZEROED) \
       VALGRIND_MALLOCLIKE_BLOCK((P), (SIZE), 0, (ZEROED))

/* The block at P is given back: its bytes become unaddressable.  Freeing
   something that is not a live block is reported ("Invalid free()"). */
#  define _PyTrack_BlockFreed(P) \
       VALGRIND_FREELIKE_BLOCK((P), 0)

/* As _PyTrack_BlockFreed(), and 1 if P was a live block, 0 if Memcheck
   reported it (a double free, a pointer into a block): an allocator whose
   freed blocks stay partly addressable (mimalloc keeps its link in them)
   learns from Memcheck whether it may free P. */
static inline int
_PyTrack_BlockFreedIfLive(void *p)
{
    unsigned errors = VALGRIND_COUNT_ERRORS;
    VALGRIND_FREELIKE_BLOCK(p, 0);
    return VALGRIND_COUNT_ERRORS == errors;
}

/* The live block at P keeps its address and changes size: bytes past the
   new size become unaddressable, new bytes are undefined. */
#  define _PyTrack_BlockResized(P, OLDSIZE, NEWSIZE) \
       VALGRIND_RESIZEINPLACE_BLOCK((P), (OLDSIZE), (NEWSIZE), 0)

/* An object whose block starts with a header of the runtime's (the GC
   header, the pre-header) is known to the program by its PyObject address,
   inside the block: for Memcheck's leak checker a pointer there is an
   interior pointer, and the header's links would keep every object on the
   GC's lists reachable.  So each such object is also announced as a chunk
   of one memory pool, at its PyObject address.  The leak checker then
   reports the chunk, not the block around it (which it leaves out of the
   search, header and all): a pointer to the object is a start pointer,
   whoever holds it, and the header holds nothing.  Misc/README.valgrind
   has the measurements behind the choice. */
#  define _PyTrack_ObjectPoolCreated(POOL) \
       VALGRIND_CREATE_MEMPOOL((POOL), 0, 0)

/* SIZE bytes at OP form an object: undefined, allocation stack recorded.
   Announce before the object is written. */
#  define _PyTrack_ObjectAllocated(POOL, OP, SIZE) \
       VALGRIND_MEMPOOL_ALLOC((POOL), (OP), (SIZE))

/* The object at OLDOP now lives at NEWOP, SIZE bytes (a realloc()); its
   allocation stack stays. */
#  define _PyTrack_ObjectMoved(POOL, OLDOP, NEWOP, SIZE) \
       VALGRIND_MEMPOOL_CHANGE((POOL), (OLDOP), (NEWOP), (SIZE))

/* The object at OP is gone: its bytes become unaddressable. */
#  define _PyTrack_ObjectFreed(POOL, OP) \
       VALGRIND_MEMPOOL_FREE((POOL), (OP))

/* As _PyTrack_ObjectFreed(), and 1 if OP was a live object, 0 if Memcheck
   reported it ("Invalid free()": freed twice, or not an object's start). */
static inline int
_PyTrack_ObjectFreedIfLive(void *pool, void *op)
{
    unsigned errors = VALGRIND_COUNT_ERRORS;
    VALGRIND_MEMPOOL_FREE(pool, op);
    return VALGRIND_COUNT_ERRORS == errors;
}

/* The allocator's own bookkeeping inside memory no caller owns. */
#  define _PyTrack_BytesDefined(P, SIZE)   VALGRIND_MAKE_MEM_DEFINED((P), (SIZE))
#  define _PyTrack_BytesUndefined(P, SIZE) VALGRIND_MAKE_MEM_UNDEFINED((P), (SIZE))
#  define _PyTrack_BytesNoAccess(P, SIZE)  VALGRIND_MAKE_MEM_NOACCESS((P), (SIZE))

/* Copy SIZE bytes from SRC, which may be unaddressable, to DST, without a
   report and without changing what Memcheck knows of SRC: the allocator
   reads its own bookkeeping in a block that may have been freed. */
static inline void
_PyTrack_BytesPeeked(void *dst, const void *src, size_t size)
{
    VALGRIND_DISABLE_ERROR_REPORTING;
    memcpy(dst, src, size);
    VALGRIND_ENABLE_ERROR_REPORTING;
    VALGRIND_MAKE_MEM_DEFINED(dst, size);
}

/* How many of the first MAX bytes at P are addressable, asked without
   reporting anything: the size a caller owns when only the allocator's size
   class is known (realloc must copy no more than that). */
static inline size_t
_PyTrack_AddressableBytes(const void *p, size_t max)
{
    VALGRIND_DISABLE_ERROR_REPORTING;
    size_t bad = (size_t)VALGRIND_CHECK_MEM_IS_ADDRESSABLE(p, max);
    VALGRIND_ENABLE_ERROR_REPORTING;
    return bad == 0 ? max : bad - (size_t)p;
}

/* 1 if the byte at P is addressable, asked in one request and without
   reporting anything: tells a live block from a freed one. */
static inline int
_PyTrack_IsAddressable(const void *p)
{
    char vbits;
    return VALGRIND_GET_VBITS(p, &vbits, 1) == 1;
}

#  ifdef Py_GIL_DISABLED
/* mimalloc adds COUNT blocks of BSIZE bytes at START to a page's free list
   (the free-threaded build, Objects/obmalloc_valgrind_mimalloc.h): in pool
   mode they become unaddressable, but for the link mimalloc writes into the
   first word of each.  Pages are extended rarely (a few kilobytes at a
   time), so the test of the mode costs nothing measurable natively. */
extern int _PyValgrind_MimallocPool;
extern void _PyValgrind_MiBlocksAdded(void *start, size_t bsize, size_t count);
#    define _PyTrack_MiBlocksAdded(START, BSIZE, COUNT) \
       do { \
           if (_PyValgrind_MimallocPool) { \
               _PyValgrind_MiBlocksAdded((START), (BSIZE), (COUNT)); \
           } \
       } while (0)
/* mimalloc reserves SIZE bytes at START from the OS for an arena (1 GiB at
   a time), read-write: Memcheck takes that for defined memory the program
   owns, and every leak search would scan all of it, word by word, as a
   root (3.5 s a search).  In pool mode it is unaddressable until mimalloc
   takes a segment from it. */
extern void _PyValgrind_MiArenaReserved(void *start, size_t size);
#    define _PyTrack_MiArenaReserved(START, SIZE) \
       do { \
           if (_PyValgrind_MimallocPool) { \
               _PyValgrind_MiArenaReserved((START), (SIZE)); \
           } \
       } while (0)
/* mimalloc takes SIZE bytes at START for a new segment, from the OS or
   from memory it had before (an arena, its segment cache), where freed
   blocks of another size lay, unaddressable.  In pool mode the segment's
   first INFO_SIZE bytes, its metadata, are memory the program owns, as
   memory fresh from mmap() is; the rest stays unaddressable (not a root
   for leak searches) until its pages' blocks are added, and each block is
   announced when it is handed out.  Segments are allocated rarely (32 MiB
   at a time, or one huge block). */
extern void _PyValgrind_MiSegmentAllocated(void *start, size_t size,
                                           size_t info_size);
#    define _PyTrack_MiSegmentAllocated(START, SIZE, INFO_SIZE) \
       do { \
           if (_PyValgrind_MimallocPool) { \
               _PyValgrind_MiSegmentAllocated((START), (SIZE), (INFO_SIZE)); \
           } \
       } while (0)
#  else
#    define _PyTrack_MiBlocksAdded(START, BSIZE, COUNT) \
       ((void)(START), (void)(BSIZE), (void)(COUNT))
#    define _PyTrack_MiArenaReserved(START, SIZE) ((void)(START), (void)(SIZE))
#    define _PyTrack_MiSegmentAllocated(START, SIZE, INFO_SIZE) \
       ((void)(START), (void)(SIZE), (void)(INFO_SIZE))
#  endif

#else   /* !WITH_VALGRIND */

#  define _PyTrack_BlockAllocated(P, SIZE, ZEROED) ((void)0)
#  define _PyTrack_BlockFreed(P) ((void)0)
#  define _PyTrack_BlockResized(P, OLDSIZE, NEWSIZE) ((void)0)
#  define _PyTrack_ObjectPoolCreated(POOL) ((void)(POOL))
#  define _PyTrack_ObjectAllocated(POOL, OP, SIZE) ((void)0)
#  define _PyTrack_ObjectMoved(POOL, OLDOP, NEWOP, SIZE) ((void)0)
#  define _PyTrack_ObjectFreed(POOL, OP) ((void)0)
#  define _PyTrack_ObjectFreedIfLive(POOL, OP) ((void)(POOL), (void)(OP), 1)
#  define _PyTrack_BytesPeeked(DST, SRC, SIZE) memcpy((DST), (SRC), (SIZE))
#  define _PyTrack_BytesDefined(P, SIZE) ((void)0)
#  define _PyTrack_BytesUndefined(P, SIZE) ((void)0)
#  define _PyTrack_BytesNoAccess(P, SIZE) ((void)0)
#  define _PyTrack_AddressableBytes(P, MAX) ((size_t)(MAX))
#  define _PyTrack_IsAddressable(P) 1
#  define _PyTrack_BlockFreedIfLive(P) ((void)(P), 1)
#  define _PyTrack_MiBlocksAdded(START, BSIZE, COUNT) \
       ((void)(START), (void)(BSIZE), (void)(COUNT))
#  define _PyTrack_MiArenaReserved(START, SIZE) ((void)(START), (void)(SIZE))
#  define _PyTrack_MiSegmentAllocated(START, SIZE, INFO_SIZE) \
       ((void)(START), (void)(SIZE), (void)(INFO_SIZE))

#endif  /* WITH_VALGRIND */

#ifdef __cplusplus
}
#endif
#endif  /* !Py_INTERNAL_VALGRIND_TRACK_H */
