/* The debug hooks under Memcheck: what their bytes are.

   Included after the debug hooks in obmalloc.c, whose static helpers it
   calls.  Compiles to nothing without WITH_VALGRIND, and in the
   free-threaded build (whose hooks CPython's functions serve as they are).

   CPython's debug hooks (PYTHONMALLOC=debug, -X dev, every --with-pydebug
   build) put a header before each block (its size, the domain's letter,
   forbidden bytes) and forbidden bytes after it, fill fresh data with 0xCD
   and freed data with 0xDD.  To Memcheck all of that is memory the program
   owns, written and so defined: an overflow into the pads is no error (the
   hooks may notice it when the block is freed), a branch on fresh data
   tests defined 0xCD bytes, and every pointer the program holds points
   2 * sizeof(size_t) bytes into a heap block: "possibly lost" when nothing
   else reaches it.

   So where leaks are checked (_PyValgrind_ChecksLeaks()), the hooks are
   wrapped, and tell Memcheck (pycore_valgrind_track.h):
   - the data is a chunk of the object pool, at the address the program
     knows: a pointer to it is a start pointer, a leak is reported at the
     caller's stack (through malloc mode's test tags: verdicts name the
     test), fresh data is undefined after the fill, defined after calloc;
   - the header and the trailing pad are unaddressable, but to the hooks,
     which open them for their own checks: an overflow, an underflow or an
     over-read is reported at the instruction that makes it;
   - freed data is unaddressable (the block goes back to malloc()), and a
     block freed twice is reported and not touched again;
   - a resized block is a new block, the data copied with what Memcheck
     knows of it.
   The hooks' own checks still run: the domain letter tells a PyMem_ block
   freed by PyObject_Free(), which Memcheck cannot see.

   The blocks beneath come from malloc(), in pool mode too: a chunk inside
   a pymalloc block announced inside its arena is a nesting that Memcheck's
   leak search cannot sort out.  The hooks already surround each block with
   bytes nobody may touch, as pool mode does, and their domain letter tells
   a block freed through the wrong domain.

   Like pymalloc, the hooks decide at their first use, and natively run
   CPython's own functions from then on: nothing is tested per call. */

#if defined(WITH_VALGRIND) && defined(WITH_PYMALLOC) && !defined(Py_GIL_DISABLED)

/* The bytes past the data: the forbidden bytes (and the serial number). */
#define DEBUG_TAIL_SIZE (PYMEM_DEBUG_EXTRA_BYTES - 2 * SST)

/* The hooks' context, with the blocks beneath from the raw allocator
   beneath the raw domain's hooks (malloc()) where pymalloc's domains run
   malloc or pool mode: malloc mode hands its requests to PyMem_RawMalloc(),
   which the hooks wrap too (a second header in each block). */
static debug_alloc_api_t
debug_api_beneath(void *ctx)
{
    const debug_alloc_api_t *api = (const debug_alloc_api_t *)ctx;
    debug_alloc_api_t beneath = *api;
    if (api->alloc.malloc == malloc_mode_malloc
        || api->alloc.malloc == pool_malloc)
    {
        beneath.alloc = _PyMem_Debug.raw.alloc;
    }
    return beneath;
}

/* The header and the trailing pad around the NBYTES of data at DATA become
   unaddressable. */
static void
debug_bytes_hidden(uint8_t *data, size_t nbytes)
{
    _PyTrack_BytesNoAccess(data - 2 * SST, 2 * SST);
    _PyTrack_BytesNoAccess(data + nbytes, DEBUG_TAIL_SIZE);
}

/* The hooks' bytes around DATA, opened for their checks; return the size
   the header gives.  If the program wrote over the leading pad (Memcheck
   reported it), the size may be anything: the tail stays closed, and the
   hooks' check stops at the pad. */
static size_t
debug_bytes_opened(uint8_t *data)
{
    _PyTrack_BytesDefined(data - 2 * SST, 2 * SST);
    size_t nbytes = read_size_t(data - 2 * SST);
    for (size_t i = 1; i < SST; i++) {
        if (data[-(Py_ssize_t)i] != PYMEM_FORBIDDENBYTE) {
            return nbytes;
        }
    }
    _PyTrack_BytesDefined(data + nbytes, DEBUG_TAIL_SIZE);
    return nbytes;
}

/* The size in the header of a block that may have been freed, read without
   changing what Memcheck knows of the bytes, and without a report. */
static size_t
debug_size_peeked(const uint8_t *data)
{
    uint8_t header[SST];
    _PyTrack_BytesPeeked(header, data - 2 * SST, SST);
    return read_size_t(header);
}

/* A block of the hooks, NBYTES of data, hidden around; announced at its
   data if ANNOUNCED (else its caller announces what lies in it). */
static void *
debug_allocated(void *ctx, size_t nbytes, int zeroed, int announced)
{
    debug_alloc_api_t beneath = debug_api_beneath(ctx);
    uint8_t *data = zeroed ? _PyMem_DebugRawCalloc(&beneath, 1, nbytes)
                           : _PyMem_DebugRawMalloc(&beneath, nbytes);
    if (data == NULL) {
        return NULL;
    }
    if (announced) {
        _PyTrack_ObjectAllocated(&object_pool, data, nbytes);
    }
    else {
        _PyTrack_BytesUndefined(data, nbytes);
    }
    if (zeroed) {
        _PyTrack_BytesDefined(data, nbytes);
    }
    debug_bytes_hidden(data, nbytes);
    return data;
}

/* Called from raw_allocate(): the chunk's allocation stack has the test's
   tags. */
static void *
debug_announced(raw_request *request)
{
    return debug_allocated(request->ctx, request->nbytes,
                           request->kind == DEBUG_CALLOC, 1);
}

/* The hooks' checks and fill, then the block goes back. */
static void
debug_freed(void *ctx, uint8_t *data)
{
    size_t nbytes = debug_bytes_opened(data);
    _PyTrack_BytesUndefined(data, nbytes);
    debug_alloc_api_t beneath = debug_api_beneath(ctx);
    _PyMem_DebugRawFree(&beneath, data);
}

/* The hooks' block at DATA, of OLDSIZE bytes, copied into the new block
   MOVED (the bytes with what Memcheck knows of them, the new bytes
   undefined), then freed; 0 if Memcheck reported DATA as no live block
   ("Invalid free()": a realloc of a freed block), which is left alone.  A
   chunk is not moved (VALGRIND_MEMPOOL_CHANGE sorts the whole pool each
   time): the new block has a chunk of its own. */
static int
debug_moved(void *ctx, uint8_t *data, size_t oldsize, uint8_t *moved,
            size_t nbytes, int announced)
{
    if (announced && oldsize != 0 && !_PyTrack_IsAddressable(data)) {
        _PyTrack_ObjectFreed(&object_pool, data);   /* reported */
        return 0;
    }
    memcpy(moved, data, Py_MIN(oldsize, nbytes));
    if (announced && !_PyTrack_ObjectFreedIfLive(&object_pool, data)) {
        return 0;
    }
    debug_freed(ctx, data);
    return 1;
}


/* --- the domains' functions ----------------------------------------------

   The raw domain's, and those of the mem and object domains, which check
   the GIL first as CPython's do. */

static void *
tracked_debug_raw_malloc(void *ctx, size_t nbytes)
{
    raw_request request = {.kind = DEBUG_MALLOC, .ctx = ctx,
                           .nbytes = nbytes};
    return raw_allocate_tagged(&request);
}

static void *
tracked_debug_raw_calloc(void *ctx, size_t nelem, size_t elsize)
{
    /* PyMem_RawCalloc() and friends checked the product. */
    raw_request request = {.kind = DEBUG_CALLOC, .ctx = ctx,
                           .nbytes = nelem * elsize};
    return raw_allocate_tagged(&request);
}

static void
tracked_debug_raw_free(void *ctx, void *ptr)
{
    /* A block freed twice, or a pointer into a block, is reported here
       (Memcheck's "Invalid free()"), and left alone. */
    if (ptr != NULL && _PyTrack_ObjectFreedIfLive(&object_pool, ptr)) {
        debug_freed(ctx, ptr);
    }
}

static void *
tracked_debug_raw_realloc(void *ctx, void *ptr, size_t nbytes)
{
    void *moved = tracked_debug_raw_malloc(ctx, nbytes);
    if (ptr == NULL || moved == NULL) {
        return moved;
    }
    if (!debug_moved(ctx, ptr, debug_size_peeked(ptr), moved, nbytes, 1)) {
        tracked_debug_raw_free(ctx, moved);
        return NULL;
    }
    return moved;
}

static void *
tracked_debug_malloc(void *ctx, size_t nbytes)
{
    _PyMem_DebugCheckGIL(__func__);
    return tracked_debug_raw_malloc(ctx, nbytes);
}

static void *
tracked_debug_calloc(void *ctx, size_t nelem, size_t elsize)
{
    _PyMem_DebugCheckGIL(__func__);
    return tracked_debug_raw_calloc(ctx, nelem, elsize);
}

static void
tracked_debug_free(void *ctx, void *ptr)
{
    _PyMem_DebugCheckGIL(__func__);
    tracked_debug_raw_free(ctx, ptr);
}

static void *
tracked_debug_realloc(void *ctx, void *ptr, size_t nbytes)
{
    _PyMem_DebugCheckGIL(__func__);
    return tracked_debug_raw_realloc(ctx, ptr, nbytes);
}

static void first_debug_use(void);

/* For the object allocator (Objects/obmalloc_valgrind.h), which announces
   the objects it puts in the hooks' blocks itself, past their GC header:
   the hooks' bytes hidden, no chunk. */
static void *
hidden_debug_malloc(void *ctx, size_t nbytes)
{
    _PyMem_DebugCheckGIL(__func__);
    return debug_allocated(ctx, nbytes, 0, 0);
}

static void *
hidden_debug_calloc(void *ctx, size_t nelem, size_t elsize)
{
    _PyMem_DebugCheckGIL(__func__);
    return debug_allocated(ctx, nelem * elsize, 1, 0);
}

static void *
hidden_debug_realloc(void *ctx, void *ptr, size_t nbytes)
{
    _PyMem_DebugCheckGIL(__func__);
    void *moved = debug_allocated(ctx, nbytes, 0, 0);
    if (ptr != NULL && moved != NULL) {
        (void)debug_moved(ctx, ptr, debug_size_peeked(ptr), moved, nbytes, 0);
    }
    return moved;
}

static void
hidden_debug_free(void *ctx, void *ptr)
{
    _PyMem_DebugCheckGIL(__func__);
    if (ptr != NULL) {
        debug_freed(ctx, ptr);
    }
}

static const PyMemAllocatorEx *
debug_blocks_unannounced(const PyMemAllocatorEx *domain)
{
    if (domain->malloc == _PyValgrind_FirstDebugMalloc) {
        first_debug_use();      /* the object allocator's first block */
    }
    static const PyMemAllocatorEx hidden_mem = {
        &_PyRuntime.allocators.debug.mem, hidden_debug_malloc,
        hidden_debug_calloc, hidden_debug_realloc, hidden_debug_free,
    };
    static const PyMemAllocatorEx hidden_obj = {
        &_PyRuntime.allocators.debug.obj, hidden_debug_malloc,
        hidden_debug_calloc, hidden_debug_realloc, hidden_debug_free,
    };
    if (domain->malloc != tracked_debug_malloc) {
        return NULL;
    }
    return domain->ctx == hidden_mem.ctx ? &hidden_mem : &hidden_obj;
}


/* --- deciding at first use ------------------------------------------------ */

PyMemAllocatorEx _PyValgrind_DebugRawHooks = _PyValgrind_FIRST_USE_DEBUG_RAW(NULL);
PyMemAllocatorEx _PyValgrind_DebugHooks = _PyValgrind_FIRST_USE_DEBUG(NULL);

/* The tables that hold a first-use function of the debug hooks get the
   chosen ones, and keep their context.  pymalloc decides first: the blocks
   beneath come from it, and the object pool is made there. */
static void
first_debug_use(void)
{
    static const PyMemAllocatorEx native_raw = {
        NULL, _PyMem_DebugRawMalloc, _PyMem_DebugRawCalloc,
        _PyMem_DebugRawRealloc, _PyMem_DebugRawFree,
    };
    static const PyMemAllocatorEx native = {
        NULL, _PyMem_DebugMalloc, _PyMem_DebugCalloc, _PyMem_DebugRealloc,
        _PyMem_DebugFree,
    };
    static const PyMemAllocatorEx tracked_raw = {
        NULL, tracked_debug_raw_malloc, tracked_debug_raw_calloc,
        tracked_debug_raw_realloc, tracked_debug_raw_free,
    };
    static const PyMemAllocatorEx tracked = {
        NULL, tracked_debug_malloc, tracked_debug_calloc,
        tracked_debug_realloc, tracked_debug_free,
    };
    (void)first_use();
    int tracks = _PyValgrind_ChecksLeaks();
    PyMemAllocatorEx *tables[] = {&_PyMem_Raw, &_PyMem, &_PyObject};
    PyMutex_Lock(&ALLOCATORS_MUTEX);
    if (_PyValgrind_DebugHooks.malloc == _PyValgrind_FirstDebugMalloc) {
        _PyValgrind_DebugRawHooks = tracks ? tracked_raw : native_raw;
        _PyValgrind_DebugHooks = tracks ? tracked : native;
    }
    for (size_t i = 0; i < Py_ARRAY_LENGTH(tables); i++) {
        void *ctx = tables[i]->ctx;
        if (tables[i]->malloc == _PyValgrind_FirstDebugRawMalloc) {
            *tables[i] = _PyValgrind_DebugRawHooks;
            tables[i]->ctx = ctx;
        }
        else if (tables[i]->malloc == _PyValgrind_FirstDebugMalloc) {
            *tables[i] = _PyValgrind_DebugHooks;
            tables[i]->ctx = ctx;
        }
    }
    PyMutex_Unlock(&ALLOCATORS_MUTEX);
}

void *
_PyValgrind_FirstDebugRawMalloc(void *ctx, size_t size)
{
    first_debug_use();
    return _PyValgrind_DebugRawHooks.malloc(ctx, size);
}

void *
_PyValgrind_FirstDebugRawCalloc(void *ctx, size_t nelem, size_t elsize)
{
    first_debug_use();
    return _PyValgrind_DebugRawHooks.calloc(ctx, nelem, elsize);
}

void *
_PyValgrind_FirstDebugRawRealloc(void *ctx, void *ptr, size_t size)
{
    first_debug_use();
    return _PyValgrind_DebugRawHooks.realloc(ctx, ptr, size);
}

void
_PyValgrind_FirstDebugRawFree(void *ctx, void *ptr)
{
    first_debug_use();
    _PyValgrind_DebugRawHooks.free(ctx, ptr);
}

void *
_PyValgrind_FirstDebugMalloc(void *ctx, size_t size)
{
    first_debug_use();
    return _PyValgrind_DebugHooks.malloc(ctx, size);
}

void *
_PyValgrind_FirstDebugCalloc(void *ctx, size_t nelem, size_t elsize)
{
    first_debug_use();
    return _PyValgrind_DebugHooks.calloc(ctx, nelem, elsize);
}

void *
_PyValgrind_FirstDebugRealloc(void *ctx, void *ptr, size_t size)
{
    first_debug_use();
    return _PyValgrind_DebugHooks.realloc(ctx, ptr, size);
}

void
_PyValgrind_FirstDebugFree(void *ctx, void *ptr)
{
    first_debug_use();
    _PyValgrind_DebugHooks.free(ctx, ptr);
}

#endif  /* WITH_VALGRIND && WITH_PYMALLOC && !Py_GIL_DISABLED */
