/* pymalloc under Valgrind: malloc mode, pool mode, and installing them.

   Included at the end of obmalloc.c's pymalloc section, because both modes
   must free and move blocks that pymalloc handed out and read pymalloc's
   state.  Compiles to nothing without WITH_VALGRIND.  pycore_valgrind.h
   gives the overview; the decision itself is in Python/valgrind.c.

   pymalloc serves requests up to 512 bytes from arenas (1 MiB on 64-bit
   platforms).  Memcheck sees an arena as one block: it cannot report a
   leaked PyMem_Malloc() block, nor a write one byte past a 24-byte request,
   because the neighbouring bytes belong to the same arena.  Malloc mode
   hands each request to malloc(), so that Memcheck puts a redzone around
   every block and keeps a stack for it; pool mode keeps pymalloc and tells
   Memcheck about each block.

   CPython's original --with-valgrind tested a flag in every pymalloc call.
   Here nothing is tested per call: the allocator tables start out holding
   the first-use functions (end of this file), and the first call through
   any of them installs the chosen functions. */

#ifdef WITH_VALGRIND

#include "pycore_valgrind_track.h" // _PyTrack_BlockAllocated()


/* --- malloc mode ----------------------------------------------------------

   These mirror the fallback paths of _PyObject_Malloc() and friends, which
   already hand the requests pymalloc declines to PyMem_RawMalloc() and count
   them in raw_allocated_blocks.  Freeing and resizing go through
   _PyObject_Free() and _PyObject_Realloc(), which ask pymalloc's radix tree
   whether it owns the block: blocks handed out before the decision (an
   embedder's early call, or the previous life of a re-initialised runtime)
   still go back to pymalloc, and every other block to the C library.

   Only pymalloc's public entry points are called from here: a new caller of
   its static inline helpers would change how the compiler lays out its hot
   paths, and those must stay the instructions of a build without this file.
   malloc_mode_malloc() is not malloc(): a pointer to it tells the modes
   apart in the tables. */

/* Which test allocated a block.  A leak search says what leaked and where
   it was allocated, not when: to blame a leak on the test that made it
   without a search after every test, "python -m memcheck" numbers the tests
   (_valgrind.set_test_tag(): 0 outside a test), and malloc mode then
   allocates through two functions named after the number: group_tag_GG()
   for its high byte, test_tag_TT() for its low byte (01 to ff).  They are
   in the stack that Memcheck records for the block, within its first
   frames, so a leak record names the test, even when the search that finds
   it comes tests later (a stale copy of the pointer kept the block
   reachable until then).  Each function stores its number after the call:
   the bodies differ (no identical-code folding) and the call is no tail
   call (the frame stays). */

typedef struct {
    enum { RAW_MALLOC, RAW_CALLOC, RAW_REALLOC, OBJECT_MALLOC, MEM_MALLOC_AT,
           DEBUG_MALLOC, DEBUG_CALLOC }
        kind;
    void *ctx;          /* DEBUG_*: the debug hooks' context */
    void *ptr;          /* OBJECT_MALLOC: the object's type */
    size_t nbytes;
    size_t elsize;      /* OBJECT_MALLOC, MEM_MALLOC_AT: the offset of the
                           address the program knows, in the block */
    int tag;
} raw_request;

static void *object_allocated(PyTypeObject *type, size_t nbytes,
                              size_t presize);
static void *mem_allocated_at(size_t nbytes, size_t offset);
#ifndef Py_GIL_DISABLED
/* The debug hooks' (Objects/obmalloc_valgrind_debug.h). */
static void *debug_announced(raw_request *request);
static const PyMemAllocatorEx *
debug_blocks_unannounced(const PyMemAllocatorEx *domain);
#else
#  define debug_announced(REQUEST) ((void)(REQUEST), (void *)NULL)
#  define debug_blocks_unannounced(DOMAIN) ((void)(DOMAIN), NULL)
#endif

static Py_NO_INLINE void *
raw_allocate(raw_request *request)
{
    switch (request->kind) {
    case RAW_MALLOC:
        return PyMem_RawMalloc(request->nbytes);
    case RAW_CALLOC:
        return PyMem_RawCalloc(request->nbytes, request->elsize);
    case OBJECT_MALLOC:
        return object_allocated((PyTypeObject *)request->ptr, request->nbytes,
                                request->elsize);
    case MEM_MALLOC_AT:
        return mem_allocated_at(request->nbytes, request->elsize);
    case DEBUG_MALLOC:
    case DEBUG_CALLOC:
        return debug_announced(request);
    default:
        return _PyObject_Realloc(request->ctx, request->ptr, request->nbytes);
    }
}

/* DEFINE(N) for each N from 00 to ff. */
#define TAG_ROW(DEFINE, H) \
    DEFINE(H##0) DEFINE(H##1) DEFINE(H##2) DEFINE(H##3) \
    DEFINE(H##4) DEFINE(H##5) DEFINE(H##6) DEFINE(H##7) \
    DEFINE(H##8) DEFINE(H##9) DEFINE(H##a) DEFINE(H##b) \
    DEFINE(H##c) DEFINE(H##d) DEFINE(H##e) DEFINE(H##f)
#define EVERY_TAG(DEFINE) \
    TAG_ROW(DEFINE, 0) TAG_ROW(DEFINE, 1) TAG_ROW(DEFINE, 2) \
    TAG_ROW(DEFINE, 3) TAG_ROW(DEFINE, 4) TAG_ROW(DEFINE, 5) \
    TAG_ROW(DEFINE, 6) TAG_ROW(DEFINE, 7) TAG_ROW(DEFINE, 8) \
    TAG_ROW(DEFINE, 9) TAG_ROW(DEFINE, a) TAG_ROW(DEFINE, b) \
    TAG_ROW(DEFINE, c) TAG_ROW(DEFINE, d) TAG_ROW(DEFINE, e) \
    TAG_ROW(DEFINE, f)

#define TEST_TAG(N) \
    static Py_NO_INLINE void * \
    test_tag_##N(raw_request *request) \
    { \
        void *ptr = raw_allocate(request); \
        request->tag = 0x##N; \
        return ptr; \
    }
#define TEST_TAG_ENTRY(N) test_tag_##N,

EVERY_TAG(TEST_TAG)
static void *(*const test_tags[256])(raw_request *) = {
    EVERY_TAG(TEST_TAG_ENTRY)
};

#define GROUP_TAG(N) \
    static Py_NO_INLINE void * \
    group_tag_##N(raw_request *request) \
    { \
        void *ptr = test_tags[request->tag & 0xff](request); \
        request->tag = 0x##N##00; \
        return ptr; \
    }
#define GROUP_TAG_ENTRY(N) group_tag_##N,

EVERY_TAG(GROUP_TAG)
static void *(*const group_tags[256])(raw_request *) = {
    EVERY_TAG(GROUP_TAG_ENTRY)
};

static void *
raw_allocate_tagged(raw_request *request)
{
    int tag = _Py_atomic_load_int_relaxed(&_PyValgrind_TestTag);
    if ((tag & 0xff) == 0) {
        return raw_allocate(request);
    }
    request->tag = tag;
    return group_tags[(tag >> 8) & 0xff](request);
}

static void *
malloc_mode_malloc(void *Py_UNUSED(ctx), size_t nbytes)
{
    raw_request request = {.kind = RAW_MALLOC, .nbytes = nbytes};
    void *ptr = raw_allocate_tagged(&request);
    if (ptr != NULL) {
        OMState *state = get_state();
        raw_allocated_blocks++;
    }
    return ptr;
}

static void *
malloc_mode_calloc(void *Py_UNUSED(ctx), size_t nelem, size_t elsize)
{
    raw_request request = {.kind = RAW_CALLOC, .nbytes = nelem,
                           .elsize = elsize};
    void *ptr = raw_allocate_tagged(&request);
    if (ptr != NULL) {
        OMState *state = get_state();
        raw_allocated_blocks++;
    }
    return ptr;
}

static void *
malloc_mode_realloc(void *ctx, void *ptr, size_t nbytes)
{
    if (ptr == NULL) {
        return malloc_mode_malloc(ctx, nbytes);
    }
    raw_request request = {.kind = RAW_REALLOC, .ctx = ctx, .ptr = ptr,
                           .nbytes = nbytes};
    return raw_allocate_tagged(&request);
}

#define MALLOC_MODE_ALLOC \
    {NULL, malloc_mode_malloc, malloc_mode_calloc, malloc_mode_realloc, _PyObject_Free}
#define REAL_PYMALLOC_ALLOC \
    {NULL, _PyObject_Malloc, _PyObject_Calloc, _PyObject_Realloc, _PyObject_Free}


/* --- pool mode: pymalloc kept, each block announced to Memcheck -----------

   Malloc mode hides what only pymalloc's layout shows: a PyMem_Malloc() block
   handed to free() is harmless in malloc mode (malloc matches free), and
   corrupts the heap in production.  Pool mode keeps pymalloc, and tells
   Memcheck what pymalloc does inside its arenas (pycore_valgrind_track.h):

   - every block is announced at the size the caller asked for, so the bytes
     between the request and the size class, and a freed block, are
     unaddressable, and a leaked block has its allocation stack;
   - arenas come from malloc(), not mmap(): Memcheck scans mapped memory as
     a root of the leak search, so a block pointed to only from another
     leaked block would look "still reachable".  A malloc() block holding
     announced blocks is left out of the search, and leaks classify as they
     do under malloc: definitely lost, and indirectly lost for the contents.
     A fresh arena is unaddressable except for its pool headers;
   - pymalloc's free-list link lives in the first word of each free block.
     pymalloc reads and writes it where no caller may: before calling
     pymalloc, the wrapper below opens exactly the links pymalloc is about
     to touch, and closes them after.  That mirrors pymalloc_alloc(),
     pymalloc_pool_extend() and allocate_from_new_pool(): a change there
     must be mirrored in pool_open_links().

   Nothing here runs outside pool mode: these functions are only reached
   through the allocator tables, which hold them only when Memcheck runs and
   PYTHONVALGRIND=pool asked for them.  pymalloc's own code is unchanged. */

/* pymalloc's entry points, called from pool mode through pointers the
   compiler cannot see through.  Direct calls gave GCC new callers to
   optimise for: it split _PyObject_Free() in two, and pymalloc's native
   path ran 0.15 % more instructions (Callgrind, make bench). */
static struct {
    void *(*volatile malloc)(void *, size_t);
    void *(*volatile calloc)(void *, size_t, size_t);
    void *(*volatile realloc)(void *, void *, size_t);
    void (*volatile free)(void *, void *);
    bool (*volatile owns)(OMState *, void *, poolp);
} pool_pymalloc = {
    _PyObject_Malloc, _PyObject_Calloc, _PyObject_Realloc, _PyObject_Free,
    address_in_range,
};

/* Set by pool_open_links() when pymalloc is about to take a new arena:
   the offset, in the arena's first pool, of the link it will write.  It is
   set, read by pool_arena_alloc() and reset within one pool_alloc() call,
   on one thread, but interpreters with their own GIL (and their own
   pymalloc state) allocate at the same time: each thread has its own. */
static _Py_thread_local size_t pool_new_arena_link;

static void *
pool_arena_alloc(void *Py_UNUSED(ctx), size_t size)
{
    void *arena = malloc(size);
    if (arena == NULL || pool_new_arena_link == 0) {
        /* Not for pymalloc: _PyObject_VirtualAlloc() serves the frame
           stacks from the same allocator, and they are used as they are. */
        return arena;
    }
    _PyTrack_BytesNoAccess(arena, size);
    /* pymalloc writes each pool's header before it reads it: addressable
       but undefined.  The pools start at the first pool-aligned address,
       as new_arena() computes. */
    uintptr_t end = (uintptr_t)arena + size;
    uintptr_t first = _Py_SIZE_ROUND_UP((uintptr_t)arena, POOL_SIZE);
    for (uintptr_t pool = first; pool + POOL_SIZE <= end; pool += POOL_SIZE) {
        _PyTrack_BytesUndefined((void *)pool, POOL_OVERHEAD);
    }
    _PyTrack_BytesUndefined((char *)first + pool_new_arena_link,
                            sizeof(pymem_block *));
    return arena;
}

static void
pool_arena_free(void *Py_UNUSED(ctx), void *arena, size_t Py_UNUSED(size))
{
    free(arena);
}

/* Make addressable the free-list links that pymalloc_alloc() is about to
   read or write for a request of size class SZIDX.  Return 1 if the head of
   the free list must be made unaddressable again after the call (a link was
   written), 0 if pymalloc only reads a link, that of the block it returns. */
static int
pool_open_links(OMState *state, uint szidx)
{
    const size_t link = sizeof(pymem_block *);
    uint size = INDEX2SIZE(szidx);
    poolp pool = usedpools[szidx + szidx];
    if (pool != pool->nextpool) {
        /* A used pool: pymalloc reads its head block's link, and if that
           was the last free block, writes a NULL link into the next block
           of the pool it has never used (pymalloc_pool_extend()). */
        pymem_block **head = (pymem_block **)pool->freeblock;
        _PyTrack_BytesDefined(head, link);
        if (*head != NULL || pool->nextoffset > pool->maxnextoffset) {
            return 0;
        }
        _PyTrack_BytesUndefined((pymem_block *)pool + pool->nextoffset, link);
        return 1;
    }
    /* No used pool: allocate_from_new_pool() takes a cached free pool,
       whose free list is ready if it last held this size class; else it
       initialises a pool and writes the link of its second block. */
    if (usable_arenas == NULL) {
        pool_new_arena_link = POOL_OVERHEAD + size;
        return 1;
    }
    pool = usable_arenas->freepools;
    if (pool != NULL && pool->szidx == szidx) {
        _PyTrack_BytesDefined(pool->freeblock, link);
        return 0;
    }
    if (pool == NULL) {
        pool = (poolp)usable_arenas->pool_address;
    }
    _PyTrack_BytesUndefined((pymem_block *)pool + POOL_OVERHEAD + size, link);
    return 1;
}

/* pymalloc's _PyObject_Malloc(), then the block announced to Memcheck. */
static void *
pool_alloc(void *ctx, size_t nbytes, int zeroed)
{
    if (nbytes == 0 || nbytes > SMALL_REQUEST_THRESHOLD) {
        /* Not pymalloc's: _PyObject_Malloc() hands it to malloc(). */
        return zeroed ? pool_pymalloc.calloc(ctx, 1, nbytes)
                      : pool_pymalloc.malloc(ctx, nbytes);
    }
    OMState *state = get_state();
    uint szidx = (uint)(nbytes - 1) >> ALIGNMENT_SHIFT;
    int opened = pool_open_links(state, szidx);
    void *p = pool_pymalloc.malloc(ctx, nbytes);
    pool_new_arena_link = 0;
    if (p == NULL || (opened && !pool_pymalloc.owns(state, p, POOL_ADDR(p)))) {
        /* Out of memory, or pymalloc could not get an arena and malloc()
           served the request: Memcheck tracks that block already. */
        return p;
    }
    if (opened) {
        poolp pool = POOL_ADDR(p);
        if (pool->freeblock != NULL) {
            _PyTrack_BytesNoAccess(pool->freeblock, sizeof(pymem_block *));
        }
    }
    if (nbytes < sizeof(pymem_block *)) {
        /* The link pymalloc read is longer than the request. */
        _PyTrack_BytesNoAccess(p, sizeof(pymem_block *));
    }
    _PyTrack_BlockAllocated(p, nbytes, zeroed);
    if (zeroed) {
        memset(p, 0, nbytes);
    }
    return p;
}

static void *
pool_malloc(void *ctx, size_t nbytes)
{
    return pool_alloc(ctx, nbytes, 0);
}

static void *
pool_calloc(void *ctx, size_t nelem, size_t elsize)
{
    /* PyMem_Calloc() and PyObject_Calloc() checked the product. */
    return pool_alloc(ctx, nelem * elsize, 1);
}

static void
pool_free(void *ctx, void *p)
{
    if (p == NULL) {
        return;
    }
    OMState *state = get_state();
    poolp pool = POOL_ADDR(p);
    if (!pool_pymalloc.owns(state, p, pool)) {
        pool_pymalloc.free(ctx, p);     /* malloc()'s block */
        return;
    }
    /* A live block has at least its first byte addressable.  Anything else
       (a double free, a pointer into a block) is reported by Memcheck as an
       invalid free, and, as Memcheck does for malloc(), not freed: in
       pymalloc it would corrupt the free list. */
    if (!_PyTrack_IsAddressable(p)) {
        _PyTrack_BlockFreed(p);
        return;
    }
    if (pool->szidx != 0 && pool->ref.count > 1) {
        /* Every block of this size class was asked for more than a link's
           size, so the link pymalloc writes lies inside the live block;
           and the pool keeps other blocks, so its arena stays allocated.
           The block is announced freed after pymalloc's write: one
           request, on the path almost every free takes. */
        pool_pymalloc.free(ctx, p);
        _PyTrack_BlockFreed(p);
        return;
    }
    _PyTrack_BlockFreed(p);
    _PyTrack_BytesUndefined(p, sizeof(pymem_block *));
    pool_pymalloc.free(ctx, p);
    /* If that emptied the arena, pymalloc gave it back to free(): marking
       freed memory unaddressable again is harmless. */
    _PyTrack_BytesNoAccess(p, sizeof(pymem_block *));
}

/* pymalloc_realloc() copies the whole size class, more than the caller may
   own: here, only the bytes the caller asked for are copied, with their
   definedness.  The block stays in place when pymalloc would keep it. */
static void *
pool_realloc(void *ctx, void *p, size_t nbytes)
{
    if (p == NULL) {
        return pool_malloc(ctx, nbytes);
    }
    OMState *state = get_state();
    poolp pool = POOL_ADDR(p);
    if (!pool_pymalloc.owns(state, p, pool)) {
        return pool_pymalloc.realloc(ctx, p, nbytes);   /* malloc()'s block */
    }
    size_t size = INDEX2SIZE(pool->szidx);
    size_t owned = _PyTrack_AddressableBytes(p, size);
    if (owned == 0) {
        _PyTrack_BlockFreed(p);     /* reported: not a live block */
        return NULL;
    }
    if (nbytes <= size && 4 * nbytes > 3 * size) {
        /* pymalloc_realloc()'s rule: less than a quarter would be wasted. */
        _PyTrack_BlockResized(p, owned, nbytes);
        return p;
    }
    void *q = pool_malloc(ctx, nbytes);
    if (q == NULL) {
        return NULL;
    }
    memcpy(q, p, Py_MIN(owned, nbytes));
    pool_free(ctx, p);
    return q;
}

#define POOL_ALLOC \
    {NULL, pool_malloc, pool_calloc, pool_realloc, pool_free}
#define POOL_ARENA_ALLOC \
    {NULL, pool_arena_alloc, pool_arena_free}


/* --- objects whose type is known ------------------------------------------

   The GC allocates, resizes and frees its objects through
   _PyObject_MallocWithType() and friends (pycore_object_alloc.h), which
   know the type, and so where the PyObject lies in its block: past the GC
   header and the pre-header.  In the default build they call the table
   _PyValgrind_Objects.  Natively, and under the tools that check no leaks,
   it holds the object_*() functions, which do what PyObject_Malloc() and
   friends do; under Memcheck, in malloc and pool modes, it holds the
   announced_object_*() functions, which also announce every object that
   has a header at its PyObject address (pycore_valgrind_track.h): the
   leak checker then needs no help to tell what live memory holds. */

static void *
object_malloc(PyTypeObject *Py_UNUSED(type), size_t size)
{
    if (size > (size_t)PY_SSIZE_T_MAX) {
        return NULL;
    }
    OBJECT_STAT_INC(allocations);
    return _PyObject.malloc(_PyObject.ctx, size);
}

static void *
object_realloc(PyTypeObject *Py_UNUSED(type), void *ptr, size_t size)
{
    if (size > (size_t)PY_SSIZE_T_MAX) {
        return NULL;
    }
    return _PyObject.realloc(_PyObject.ctx, ptr, size);
}

static void
object_free(PyTypeObject *Py_UNUSED(type), void *ptr)
{
    OBJECT_STAT_INC(frees);
    _PyObject.free(_PyObject.ctx, ptr);
}

/* PyMem_Malloc() and PyMem_Free(), for blocks known by an inner address. */
static void *
mem_malloc_at(size_t Py_UNUSED(offset), size_t size)
{
    if (size > (size_t)PY_SSIZE_T_MAX) {
        return NULL;
    }
    return _PyMem.malloc(_PyMem.ctx, size);
}

static void
mem_free_at(size_t Py_UNUSED(offset), void *block)
{
    _PyMem.free(_PyMem.ctx, block);
}

/* The pool's handle: its address. */
static char object_pool;

/* Where the blocks of announced objects come from: the object domain's
   allocator, but in pool mode malloc(), as in malloc mode.  In pool mode a
   pymalloc block is itself announced inside its arena: an object announced
   in it would be a chunk in a block in a block, which Memcheck's leak
   search cannot sort out (it stops: "the 'impossible' happened").  Pool
   mode keeps pymalloc for every other request.  Under the debug hooks, the
   hooks' blocks, without the chunk they announce for other callers (two
   chunks would overlap). */
static const PyMemAllocatorEx *
blocks_of(const PyMemAllocatorEx *domain)
{
    static const PyMemAllocatorEx malloc_mode = MALLOC_MODE_ALLOC;
    if (domain->malloc == pool_malloc) {
        return &malloc_mode;
    }
    const PyMemAllocatorEx *hidden = debug_blocks_unannounced(domain);
    return hidden != NULL ? hidden : domain;
}

static const PyMemAllocatorEx *
object_blocks(void)
{
    return blocks_of(&_PyObject);
}

/* An instance's dict may be pointed to only from the managed-dict slot of
   its pre-header, ahead of the object, where the leak checker does not
   look: a materialised __dict__, or the dict of a type whose instances
   keep no inline values.  So that slot is announced as a chunk too, and an
   object whose type has a managed dict gets one word more at its end, past
   what its type asked for, that points to the slot: the dict is reachable
   when the object is, and lost with it.  That word is addressable and
   defined: a write of up to one word past such an object goes unreported.
   (The slot's chunk does not start its block: Memcheck mixes up a chunk
   and a block that start at one address.) */
static size_t
dict_link_size(PyTypeObject *type)
{
    return (_PyType_HasFeature(type, Py_TPFLAGS_MANAGED_DICT)
            ? sizeof(char *) : 0);
}

/* The managed-dict slot of the object at OP (_PyObject_ManagedDictPointer(),
   before the object's type is set). */
static char *
dict_slot(char *op)
{
    return op - 3 * sizeof(PyObject *);
}

/* The object of NBYTES (what its type asked for) at PRESIZE into BLOCK,
   and LINK bytes more for the link to its dict slot. */
static void
announce_object(char *block, size_t nbytes, size_t presize, size_t link)
{
    char *op = block + presize;
    _PyTrack_ObjectAllocated(&object_pool, op, nbytes - presize + link);
    if (link != 0) {
        char *slot = dict_slot(op);
        _PyTrack_ObjectAllocated(&object_pool, slot, sizeof(PyObject *));
        memcpy(op + (nbytes - presize), &slot, sizeof(slot));
    }
}

/* Called from raw_allocate(), so that in malloc mode the stack Memcheck
   records for the object names the test that allocated it. */
static void *
object_allocated(PyTypeObject *type, size_t nbytes, size_t presize)
{
    size_t link = dict_link_size(type);
    const PyMemAllocatorEx *blocks = object_blocks();
    char *block = blocks->malloc(blocks->ctx, nbytes + link);
    if (block != NULL) {
        announce_object(block, nbytes, presize, link);
    }
    return block;
}

static void *
announced_object_malloc(PyTypeObject *type, size_t size)
{
    size_t presize = _PyType_PreHeaderSize(type);
    if (presize == 0 || size < presize) {
        return object_malloc(type, size);   /* its block starts with it */
    }
    raw_request request = {.kind = OBJECT_MALLOC, .ptr = type,
                           .nbytes = size, .elsize = presize};
    return raw_allocate_tagged(&request);
}

/* A thread that runs a leak search (another interpreter's, with a GIL of
   its own) may find this thread anywhere: between freeing a block and
   announcing its object freed, the object's chunk lies in freed memory,
   and whatever it held would look lost.  So the object is announced freed
   first, and a resized object moves to its new block before the old one
   is freed.  Only the debug hooks, which write over the whole block when
   they free it, need the object's bytes addressable until then: there the
   block is freed first. */
static int
frees_without_writing(const PyMemAllocatorEx *blocks)
{
    return blocks->free == _PyObject_Free;      /* malloc mode's */
}

static void
forget_object(PyTypeObject *type, char *block, size_t presize)
{
    _PyTrack_ObjectFreed(&object_pool, block + presize);
    if (dict_link_size(type) != 0) {
        _PyTrack_ObjectFreed(&object_pool, dict_slot(block + presize));
    }
}

/* Allocate the new block, copy, move the object's chunks (they keep their
   allocation stack), then free the old block. */
static void *
announced_object_realloc(PyTypeObject *type, void *ptr, size_t size)
{
    size_t presize = _PyType_PreHeaderSize(type);
    if (presize == 0 || size < presize) {
        return object_realloc(type, ptr, size);
    }
    size_t link = dict_link_size(type);
    const PyMemAllocatorEx *blocks = object_blocks();
    char *block = blocks->malloc(blocks->ctx, size + link);
    if (block == NULL) {
        return NULL;
    }
    memcpy(block, ptr, _PyTrack_AddressableBytes(ptr, size + link));
    _PyTrack_ObjectMoved(&object_pool, (char *)ptr + presize,
                         block + presize, size - presize + link);
    if (link != 0) {
        char *slot = dict_slot(block + presize);
        _PyTrack_ObjectMoved(&object_pool, dict_slot((char *)ptr + presize),
                             slot, sizeof(PyObject *));
        memcpy(block + size, &slot, sizeof(slot));
    }
    blocks->free(blocks->ctx, ptr);
    return block;
}

static void
announced_object_free(PyTypeObject *type, void *ptr)
{
    size_t presize = _PyType_PreHeaderSize(type);
    if (presize == 0 || ptr == NULL) {
        object_free(type, ptr);
        return;
    }
    const PyMemAllocatorEx *blocks = object_blocks();
    if (frees_without_writing(blocks)) {
        forget_object(type, ptr, presize);
        blocks->free(blocks->ctx, ptr);
    }
    else {
        blocks->free(blocks->ctx, ptr);
        forget_object(type, ptr, presize);
    }
}

/* A PyMem_ block that the program knows by the address OFFSET bytes in is
   announced there, as an object is. */
static void *
mem_allocated_at(size_t nbytes, size_t offset)
{
    const PyMemAllocatorEx *blocks = blocks_of(&_PyMem);
    char *block = blocks->malloc(blocks->ctx, nbytes);
    if (block != NULL) {
        _PyTrack_ObjectAllocated(&object_pool, block + offset,
                                 nbytes - offset);
    }
    return block;
}

static void *
announced_mem_malloc_at(size_t offset, size_t size)
{
    if (offset == 0 || size <= offset) {
        return mem_malloc_at(offset, size);
    }
    raw_request request = {.kind = MEM_MALLOC_AT, .nbytes = size,
                           .elsize = offset};
    return raw_allocate_tagged(&request);
}

static void
announced_mem_free_at(size_t offset, void *block)
{
    const PyMemAllocatorEx *blocks = blocks_of(&_PyMem);
    if (offset == 0 || block == NULL) {
        mem_free_at(offset, block);
    }
    else if (frees_without_writing(blocks)) {
        _PyTrack_ObjectFreed(&object_pool, (char *)block + offset);
        blocks->free(blocks->ctx, block);
    }
    else {
        blocks->free(blocks->ctx, block);
        _PyTrack_ObjectFreed(&object_pool, (char *)block + offset);
    }
}

static void *first_object_malloc(PyTypeObject *type, size_t size);
static void *first_object_realloc(PyTypeObject *type, void *ptr, size_t size);
static void first_object_free(PyTypeObject *type, void *ptr);
static void *first_mem_malloc_at(size_t offset, size_t size);
static void first_mem_free_at(size_t offset, void *block);

_PyValgrind_ObjectAllocator _PyValgrind_Objects = {
    first_object_malloc, first_object_realloc, first_object_free,
    first_mem_malloc_at, first_mem_free_at,
};

/* Where leaks are checked (_PyValgrind_ChecksLeaks(): Memcheck, or a tool
   that may be Memcheck renamed, in malloc and pool modes): the announcing
   functions, and their pool, made once. */
static const _PyValgrind_ObjectAllocator *
chosen_object_allocator(void)
{
    static const _PyValgrind_ObjectAllocator native = {
        object_malloc, object_realloc, object_free,
        mem_malloc_at, mem_free_at,
    };
    static const _PyValgrind_ObjectAllocator announced = {
        announced_object_malloc, announced_object_realloc,
        announced_object_free, announced_mem_malloc_at, announced_mem_free_at,
    };
    static int pool_created;
    if (!_PyValgrind_ChecksLeaks()) {
        return &native;
    }
    if (!pool_created) {
        _PyTrack_ObjectPoolCreated(&object_pool);
        pool_created = 1;
    }
    return &announced;
}


/* --- installing the chosen functions ------------------------------------- */

PyMemAllocatorEx _PyValgrind_Pymalloc = _PyValgrind_FIRST_USE_ALLOC;

static const PyMemAllocatorEx *
allocator_for_mode(_PyValgrind_Mode mode)
{
    static const PyMemAllocatorEx malloc_mode = MALLOC_MODE_ALLOC;
    static const PyMemAllocatorEx pool_mode = POOL_ALLOC;
    static const PyMemAllocatorEx pymalloc = REAL_PYMALLOC_ALLOC;
    switch (mode) {
    case _PyValgrind_MALLOC: return &malloc_mode;
    case _PyValgrind_POOL: return &pool_mode;
    default: return &pymalloc;
    }
}

/* Called through a first-use function: by the very first allocation, or by
   a caller holding a copy of a table taken before it (PyMem_GetAllocator()
   before any allocation, or a runtime reset by Py_Finalize()).  Threads
   that race here get one decision (Python/valgrind.c takes it once), and
   write the tables under the allocators' lock, where set_allocator and
   PyMem_SetupAllocators() write them: the standard tables, and the tables
   beneath the debug hooks, wherever they still hold a first-use function. */
static const PyMemAllocatorEx *
first_use(void)
{
    _PyValgrind_Mode mode = _PyValgrind_GetMode();
    const PyMemAllocatorEx *chosen = allocator_for_mode(mode);
    PyMemAllocatorEx *tables[] = {
        &_PyMem, &_PyObject, &_PyMem_Debug.mem.alloc, &_PyMem_Debug.obj.alloc,
    };
    PyMutex_Lock(&ALLOCATORS_MUTEX);
    _PyValgrind_Pymalloc = *chosen;
    _PyValgrind_Objects = *chosen_object_allocator();
    for (size_t i = 0; i < Py_ARRAY_LENGTH(tables); i++) {
        if (tables[i]->malloc == _PyValgrind_FirstMalloc) {
            *tables[i] = *chosen;
        }
    }
    /* Pool mode takes its arenas from malloc() (see above), unless an
       embedder set its own arena allocator. */
    if (mode == _PyValgrind_POOL
        && _PyObject_Arena.alloc == _PyMem_ArenaAlloc)
    {
        _PyObject_Arena = (PyObjectArenaAllocator)POOL_ARENA_ALLOC;
    }
    PyMutex_Unlock(&ALLOCATORS_MUTEX);
    return chosen;
}

void *
_PyValgrind_FirstMalloc(void *ctx, size_t size)
{
    return first_use()->malloc(ctx, size);
}

void *
_PyValgrind_FirstCalloc(void *ctx, size_t nelem, size_t elsize)
{
    return first_use()->calloc(ctx, nelem, elsize);
}

void *
_PyValgrind_FirstRealloc(void *ctx, void *ptr, size_t size)
{
    return first_use()->realloc(ctx, ptr, size);
}

void
_PyValgrind_FirstFree(void *ctx, void *ptr)
{
    first_use()->free(ctx, ptr);
}

/* The object table's first-use functions: the first object may come
   before the first PyObject_Malloc() call. */
static void *
first_object_malloc(PyTypeObject *type, size_t size)
{
    (void)first_use();
    return _PyValgrind_Objects.malloc(type, size);
}

static void *
first_object_realloc(PyTypeObject *type, void *ptr, size_t size)
{
    (void)first_use();
    return _PyValgrind_Objects.realloc(type, ptr, size);
}

static void
first_object_free(PyTypeObject *type, void *ptr)
{
    (void)first_use();
    _PyValgrind_Objects.free(type, ptr);
}

static void *
first_mem_malloc_at(size_t offset, size_t size)
{
    (void)first_use();
    return _PyValgrind_Objects.mem_malloc_at(offset, size);
}

static void
first_mem_free_at(size_t offset, void *block)
{
    (void)first_use();
    _PyValgrind_Objects.mem_free_at(offset, block);
}


/* --- a subinterpreter's arenas, kept on purpose ---------------------------

   A subinterpreter with its own pymalloc state that still has blocks in use
   when it is finalised keeps its arenas on purpose
   (_PyInterpreterState_FinalizeAllocatedBlocks()), then frees the state
   that points to pymalloc's tables of them.  In pool mode the arenas hold
   announced blocks and the tables (the arena array, the radix tree's
   nodes) are heap blocks of their own: keep them reachable, as what CPython
   keeps until exit. */
void
_PyValgrind_KeepObmallocState(PyInterpreterState *interp)
{
    if (!_PyMem_obmalloc_state_on_heap(interp)) {
        return;
    }
    OMState *state = interp->obmalloc;
    _PyValgrind_KeepReachable(allarenas);
#if WITH_PYMALLOC_RADIX_TREE && defined(USE_INTERIOR_NODES)
    for (int i = 0; i < MAP_TOP_LENGTH; i++) {
        if (arena_map_root.ptrs[i] != NULL) {
            _PyValgrind_KeepReachable(arena_map_root.ptrs[i]);
        }
    }
#endif
}

#endif  /* WITH_VALGRIND */

#include "obmalloc_valgrind_mimalloc.h"   // the free-threaded build
