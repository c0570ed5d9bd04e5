/* The free-threaded build under Valgrind: mimalloc's blocks announced to
   Memcheck, and installing mimalloc's functions at the first allocation.

   Included by obmalloc_valgrind.h in a build configured --disable-gil,
   where PyMem_ and PyObject_ are served by mimalloc, from heaps of each
   thread (pycore_valgrind.h gives the overview).

   Objects cannot move to malloc() here: the free-threaded GC finds them by
   walking mimalloc's heaps.  Memcheck sees mimalloc's segments as memory
   the program mapped, nothing more, so pool mode announces each block at
   its requested size when mimalloc hands it out, and makes it
   unaddressable when it is freed, but for its first word: mimalloc links a
   free block into its page's free list through that word, reads it when it
   hands the block out again, and a free from another thread writes it.  So
   a read or a write after free of an object's first word (ob_tid, or the
   pre-header's dict pointer) is not reported; any other byte is.  mimalloc
   keeps its own metadata outside the blocks.

   Memory that CPython frees only once no thread can still read it (QSBR:
   _PyMem_FreeDelayed()) stays allocated until then, so those optimistic
   reads read live blocks.  Objects are freed at once, and a thread that
   tries to take a reference to a list or dict item another thread has just
   freed (_Py_TryIncrefCompare()) reads freed memory on purpose: those
   reads come only with another thread racing on the same container.

   Natively, and under the tools that count instructions, the tables hold
   mimalloc's own functions: no call tests anything. */

#if defined(WITH_VALGRIND) && defined(Py_GIL_DISABLED)

/* --- pool mode: each block announced ------------------------------------ */

/* An object with a pre-header (a managed dict, managed weak references)
   comes from the heap of such objects, and lies two words into its block:
   it is announced there, so that a pointer to it is a start pointer for
   the leak checker (pycore_valgrind_track.h); the pre-header is the
   runtime's, addressable as the allocator's bookkeeping.  OFFSET is the
   object's offset in its block: 0 for every other block. */
#define PRE_HEADER_SIZE (2 * sizeof(PyObject *))

/* The offset of the block that the object domain is about to hand out:
   _PyObject_MallocWithType() has chosen the heap. */
static size_t
offset_to_allocate(void)
{
    _PyThreadStateImpl *tstate = (_PyThreadStateImpl *)_PyThreadState_GET();
    if (tstate == NULL) {
        return 0;
    }
    struct _mimalloc_thread_state *m = &tstate->mimalloc;
    return (m->current_object_heap == &m->heaps[_Py_MIMALLOC_HEAP_GC_PRE]
            ? PRE_HEADER_SIZE : 0);
}

/* The offset of a block of the object domain, from its page's heap. */
static size_t
offset_of_block(void *ptr)
{
    return (_mi_ptr_page(ptr)->tag == _Py_MIMALLOC_HEAP_GC_PRE
            ? PRE_HEADER_SIZE : 0);
}

static void
announce_block(char *ptr, size_t nbytes, size_t offset, int zeroed)
{
    if (offset > nbytes) {
        offset = 0;
    }
    if (offset != 0) {
        _PyTrack_BytesUndefined(ptr, offset);
    }
    _PyTrack_BlockAllocated(ptr + offset, nbytes - offset, zeroed);
}

static void *
pool_mi_malloc(void *(*allocate)(void *, size_t), void *ctx, size_t nbytes,
               size_t offset)
{
    void *ptr = allocate(ctx, nbytes);
    if (ptr != NULL) {
        announce_block(ptr, nbytes, offset, 0);
    }
    return ptr;
}

/* mimalloc clears a block before it returns it, before the block could be
   announced: allocate, announce, then clear. */
static void *
pool_mi_calloc(void *(*allocate)(void *, size_t), void *ctx,
               size_t nelem, size_t elsize, size_t offset)
{
    if (elsize != 0 && nelem > (size_t)PY_SSIZE_T_MAX / elsize) {
        return NULL;
    }
    size_t nbytes = nelem * elsize;
    void *ptr = allocate(ctx, nbytes);
    if (ptr != NULL) {
        announce_block(ptr, nbytes, offset, 1);
        memset(ptr, 0, nbytes);
    }
    return ptr;
}

static void
pool_mi_free(void (*release)(void *, void *), void *ctx, void *ptr,
             size_t offset)
{
    if (ptr == NULL) {
        return;
    }
    /* A freed block keeps its first word addressable, for mimalloc's
       link, so addressability cannot tell a live block from a freed one:
       Memcheck can.  Freeing anything else (a double free) is reported,
       and, as Memcheck does for malloc(), not freed: in mimalloc it would
       put the block twice in a free list. */
    if (!_PyTrack_BlockFreedIfLive((char *)ptr + offset)) {
        return;
    }
    if (offset != 0) {
        _PyTrack_BytesNoAccess(ptr, offset);
    }
    _PyTrack_BytesUndefined(ptr, sizeof(void *));   /* mimalloc's link */
    release(ctx, ptr);
}

/* A resized block always moves, so that the bytes past the caller's size
   stay unaddressable; it copies what the caller owned.  Objects with a
   pre-header are never resized (they have no items). */
static void *
pool_mi_realloc(void *(*allocate)(void *, size_t),
                void (*release)(void *, void *), void *ctx,
                void *ptr, size_t nbytes)
{
    if (ptr == NULL) {
        return pool_mi_malloc(allocate, ctx, nbytes, 0);
    }
    void *moved = pool_mi_malloc(allocate, ctx, nbytes, 0);
    if (moved == NULL) {
        return NULL;
    }
    size_t owned = _PyTrack_AddressableBytes(ptr, mi_usable_size(ptr));
    memcpy(moved, ptr, Py_MIN(owned, nbytes));
    pool_mi_free(release, ctx, ptr, 0);
    return moved;
}

/* One set of functions per domain: each takes its own heap.  Only the
   object domain has blocks with a pre-header. */
#define POOL_MI_DOMAIN(NAME, DOMAIN, OFFSET_TO_ALLOCATE, OFFSET_OF_BLOCK) \
    static void * \
    pool_##NAME##_malloc(void *ctx, size_t nbytes) \
    { \
        return pool_mi_malloc(DOMAIN##Malloc, ctx, nbytes, \
                              OFFSET_TO_ALLOCATE); \
    } \
    static void * \
    pool_##NAME##_calloc(void *ctx, size_t nelem, size_t elsize) \
    { \
        return pool_mi_calloc(DOMAIN##Malloc, ctx, nelem, elsize, \
                              OFFSET_TO_ALLOCATE); \
    } \
    static void * \
    pool_##NAME##_realloc(void *ctx, void *ptr, size_t nbytes) \
    { \
        return pool_mi_realloc(DOMAIN##Malloc, DOMAIN##Free, ctx, ptr, \
                               nbytes); \
    } \
    static void \
    pool_##NAME##_free(void *ctx, void *ptr) \
    { \
        pool_mi_free(DOMAIN##Free, ctx, ptr, \
                     ptr != NULL ? OFFSET_OF_BLOCK : 0); \
    }

POOL_MI_DOMAIN(mem, _PyMem_Mi, 0, 0)
POOL_MI_DOMAIN(obj, _PyObject_Mi, offset_to_allocate(), offset_of_block(ptr))


/* --- under a thread checker (Helgrind, DRD) ----------------------------

   mimalloc is kept (as under the profilers), and each block it hands out
   is told to the checker as fresh memory, as the checker's own malloc()
   does: what other threads did with the bytes before they were freed and
   handed out again is no race with the new owner (mimalloc's cross-thread
   free lists are annotated where they are, pycore_valgrind_sync.h).

   In the object domain a block holds an object, at offset 0 or past the
   pre-header: its first words (ob_tid, ob_flags, ob_mutex, ob_gc_bits,
   ob_ref_local, ob_ref_shared) and the pre-header (the managed dict and
   weak references) are read and written by several threads with atomics
   by design: biased reference counting (an owner's plain-looking relaxed
   stores, other threads' relaxed loads and CAS), the per-object mutex, the
   GC bits, the managed dict published by a release store.  The checkers
   take atomics for plain accesses, so those words are not checked.  (A
   PyObject_Malloc() block that is no object loses checking of the same
   first bytes.) */
static void
sync_block_allocated(void *ptr, size_t nbytes, size_t header)
{
    _PySync_NewMemory(ptr, nbytes);
    if (header != 0 && header <= nbytes) {
        _PySync_BenignRace(ptr, header,
                           "object header: reference counts, ob_mutex, GC bits");
    }
}

/* The bytes of an object's header, from the start of its block. */
#define SYNC_OBJ_HEADER(OFFSET) ((OFFSET) + offsetof(PyObject, ob_type))

static void *
sync_mi_malloc(void *(*allocate)(void *, size_t), void *ctx, size_t nbytes,
               size_t header)
{
    void *ptr = allocate(ctx, nbytes);
    if (ptr != NULL) {
        sync_block_allocated(ptr, nbytes, header);
    }
    return ptr;
}

static void *
sync_mi_calloc(void *(*allocate)(void *, size_t), void *ctx,
               size_t nelem, size_t elsize, size_t header)
{
    if (elsize != 0 && nelem > (size_t)PY_SSIZE_T_MAX / elsize) {
        return NULL;
    }
    size_t nbytes = nelem * elsize;
    void *ptr = allocate(ctx, nbytes);
    if (ptr != NULL) {
        memset(ptr, 0, nbytes);
        sync_block_allocated(ptr, nbytes, header);
    }
    return ptr;
}

/* A block that moves is the caller's fresh block, holding its copy. */
static void *
sync_mi_realloc(void *(*resize)(void *, void *, size_t), void *ctx,
                void *ptr, size_t nbytes, size_t header)
{
    void *moved = resize(ctx, ptr, nbytes);
    if (moved != NULL && moved != ptr) {
        sync_block_allocated(moved, nbytes, header);
    }
    return moved;
}

#define SYNC_MI_DOMAIN(NAME, DOMAIN, HEADER_TO_ALLOCATE, HEADER_OF_BLOCK) \
    static void * \
    sync_##NAME##_malloc(void *ctx, size_t nbytes) \
    { \
        return sync_mi_malloc(DOMAIN##Malloc, ctx, nbytes, \
                              HEADER_TO_ALLOCATE); \
    } \
    static void * \
    sync_##NAME##_calloc(void *ctx, size_t nelem, size_t elsize) \
    { \
        return sync_mi_calloc(DOMAIN##Malloc, ctx, nelem, elsize, \
                              HEADER_TO_ALLOCATE); \
    } \
    static void * \
    sync_##NAME##_realloc(void *ctx, void *ptr, size_t nbytes) \
    { \
        return sync_mi_realloc(DOMAIN##Realloc, ctx, ptr, nbytes, \
                               ptr != NULL ? HEADER_OF_BLOCK \
                                           : HEADER_TO_ALLOCATE); \
    }

SYNC_MI_DOMAIN(mem, _PyMem_Mi, 0, 0)
SYNC_MI_DOMAIN(obj, _PyObject_Mi, SYNC_OBJ_HEADER(offset_to_allocate()),
               SYNC_OBJ_HEADER(offset_of_block(ptr)))


/* PyMem_ blocks that the program knows by an inner address
   (_PyStack_UnpackDict()'s arrays): in pool mode, announced there, as the
   objects with a pre-header are.  With the debug hooks or tracemalloc on
   top, plain PyMem_Malloc(): their own header comes first anyway. */
static int
mem_is_pool(void)
{
    return _PyMem.malloc == pool_mem_malloc;
}

void *
_PyValgrind_MiMallocAt(size_t offset, size_t size)
{
    if (!mem_is_pool()) {
        return PyMem_Malloc(size);
    }
    if (size > (size_t)PY_SSIZE_T_MAX) {
        return NULL;
    }
    return pool_mi_malloc(_PyMem_MiMalloc, NULL, size, offset);
}

void
_PyValgrind_MiFreeAt(size_t offset, void *block)
{
    if (!mem_is_pool()) {
        PyMem_Free(block);
        return;
    }
    pool_mi_free(_PyMem_MiFree, NULL, block, block != NULL ? offset : 0);
}


/* mimalloc extends a page (a page set up again for another block size
   holds the bytes of freed blocks of the old one): see
   pycore_valgrind_track.h. */
int _PyValgrind_MimallocPool = 0;

void
_PyValgrind_MiBlocksAdded(void *start, size_t bsize, size_t count)
{
    _PyTrack_BytesNoAccess(start, bsize * count);
    for (size_t i = 0; i < count; i++) {
        _PyTrack_BytesUndefined((char *)start + i * bsize, sizeof(void *));
    }
}


void
_PyValgrind_MiArenaReserved(void *start, size_t size)
{
    _PyTrack_BytesNoAccess(start, size);
}


void
_PyValgrind_MiSegmentAllocated(void *start, size_t size, size_t info_size)
{
    _PyTrack_BytesNoAccess(start, size);
    _PyTrack_BytesDefined(start, info_size < size ? info_size : size);
}


/* --- installing the chosen functions ------------------------------------ */

PyMemAllocatorEx _PyValgrind_Mimalloc = _PyValgrind_FIRST_USE_MIMALLOC;
PyMemAllocatorEx _PyValgrind_MimallocObj = _PyValgrind_FIRST_USE_MIMALLOC_OBJ;

/* As first_use() in obmalloc_valgrind.h, for the two domains. */
static void
first_use_mimalloc(void)
{
    static const PyMemAllocatorEx native[2] = {
        {NULL, _PyMem_MiMalloc, _PyMem_MiCalloc, _PyMem_MiRealloc,
         _PyMem_MiFree},
        {NULL, _PyObject_MiMalloc, _PyObject_MiCalloc, _PyObject_MiRealloc,
         _PyObject_MiFree},
    };
    static const PyMemAllocatorEx sync[2] = {
        {NULL, sync_mem_malloc, sync_mem_calloc, sync_mem_realloc,
         _PyMem_MiFree},
        {NULL, sync_obj_malloc, sync_obj_calloc, sync_obj_realloc,
         _PyObject_MiFree},
    };
    static const PyMemAllocatorEx pool[2] = {
        {NULL, pool_mem_malloc, pool_mem_calloc, pool_mem_realloc,
         pool_mem_free},
        {NULL, pool_obj_malloc, pool_obj_calloc, pool_obj_realloc,
         pool_obj_free},
    };
    int pool_mode = _PyValgrind_GetMode() == _PyValgrind_POOL;
    const PyMemAllocatorEx *chosen = (pool_mode ? pool
                                      : _PySync_Enabled() ? sync : native);
    PyMemAllocatorEx *tables[] = {
        &_PyMem, &_PyObject, &_PyMem_Debug.mem.alloc, &_PyMem_Debug.obj.alloc,
    };
    PyMutex_Lock(&ALLOCATORS_MUTEX);
    _PyValgrind_MimallocPool = pool_mode;
    _PyValgrind_Mimalloc = chosen[0];
    _PyValgrind_MimallocObj = chosen[1];
    for (size_t i = 0; i < Py_ARRAY_LENGTH(tables); i++) {
        if (tables[i]->malloc == _PyValgrind_FirstMemMalloc) {
            *tables[i] = chosen[0];
        }
        else if (tables[i]->malloc == _PyValgrind_FirstObjMalloc) {
            *tables[i] = chosen[1];
        }
    }
    PyMutex_Unlock(&ALLOCATORS_MUTEX);
}

#define FIRST_USE_DOMAIN(NAME, CHOSEN) \
    void * \
    _PyValgrind_First##NAME##Malloc(void *ctx, size_t size) \
    { \
        first_use_mimalloc(); \
        return CHOSEN.malloc(ctx, size); \
    } \
    void * \
    _PyValgrind_First##NAME##Calloc(void *ctx, size_t nelem, size_t elsize) \
    { \
        first_use_mimalloc(); \
        return CHOSEN.calloc(ctx, nelem, elsize); \
    } \
    void * \
    _PyValgrind_First##NAME##Realloc(void *ctx, void *ptr, size_t size) \
    { \
        first_use_mimalloc(); \
        return CHOSEN.realloc(ctx, ptr, size); \
    } \
    void \
    _PyValgrind_First##NAME##Free(void *ctx, void *ptr) \
    { \
        first_use_mimalloc(); \
        CHOSEN.free(ctx, ptr); \
    }

FIRST_USE_DOMAIN(Mem, _PyValgrind_Mimalloc)
FIRST_USE_DOMAIN(Obj, _PyValgrind_MimallocObj)

#endif  /* WITH_VALGRIND && Py_GIL_DISABLED */
