/* pymalloc under Valgrind: decide once, at the first allocation.

   Included by obmalloc.c after pymalloc's own functions (WITH_VALGRIND and
   WITH_PYMALLOC only), because routing must free and move blocks that
   pymalloc handed out.  pycore_valgrind.h says what this does and why; the
   user's side is in Misc/README.valgrind.

   pymalloc serves requests up to 512 bytes from arenas (1 MiB on 64-bit
   platforms) that it maps itself.  Memcheck sees an arena as one block: it cannot report a leaked
   PyMem_Malloc() block, nor a write one byte past a 24-byte request, because
   the neighbouring bytes belong to the same arena.  Routing each request to
   malloc() lets Memcheck put a redzone around every block and keep a stack
   for it.  Tools that count instructions (Callgrind, Cachegrind) must not see
   that change, or they would profile an allocator that production never runs.

   CPython's original --with-valgrind tested a flag in every pymalloc call and
   routed under every tool.  Here nothing is tested per call: the allocator
   tables start out holding the first-use functions, and the first call through
   any of them decides and rewrites the tables.

   Pool mode (PYTHONVALGRIND=pool, Memcheck only) is the third choice: keep
   pymalloc and announce each of its blocks to Memcheck (below). */

#include "pycore_freelist.h"      // _PyObject_ClearFreeLists()
#include "pycore_gc.h"            // _PyGCHead_NEXT()
#include "pycore_hashtable.h"     // _Py_hashtable_new()
#include "pycore_typeobject.h"    // _PyType_GetSubclasses()
#include "pycore_initconfig.h"    // _PyStatus_ERR()
#include "pycore_valgrind_track.h" // _PyTrack_BlockAllocated()

#include <fcntl.h>                // open()
#include <unistd.h>               // read(), close()
#include <valgrind/valgrind.h>

/* Set once, by decide_mode(); read only through get_mode(). */
static _PyValgrind_Mode valgrind_mode = _PyValgrind_UNDECIDED;

/* The running tool's name, filled in by decide_mode(). */
static char valgrind_tool[32];


/* --- routed to the C library allocator ------------------------------------

   These mirror the fallback paths of _PyObject_Malloc() and friends, which
   already hand the requests pymalloc declines to PyMem_RawMalloc() and count
   them in raw_allocated_blocks.  Freeing and resizing go through
   _PyObject_Free() and _PyObject_Realloc(), which ask pymalloc's radix tree
   whether it owns the block: blocks handed out before the decision (an
   embedder's early call, or the previous life of a re-initialised runtime)
   still go back to pymalloc, and every other block to the C library.

   Only pymalloc's public entry points are called from here: a new caller of
   its static inline helpers would change how the compiler lays out its hot
   paths, and those must stay the instructions of a build without this file. */

static void *
routed_malloc(void *Py_UNUSED(ctx), size_t nbytes)
{
    void *ptr = PyMem_RawMalloc(nbytes);
    if (ptr != NULL) {
        OMState *state = get_state();
        raw_allocated_blocks++;
    }
    return ptr;
}

static void *
routed_calloc(void *Py_UNUSED(ctx), size_t nelem, size_t elsize)
{
    void *ptr = PyMem_RawCalloc(nelem, elsize);
    if (ptr != NULL) {
        OMState *state = get_state();
        raw_allocated_blocks++;
    }
    return ptr;
}

static void *
routed_realloc(void *ctx, void *ptr, size_t nbytes)
{
    if (ptr == NULL) {
        return routed_malloc(ctx, nbytes);
    }
    return _PyObject_Realloc(ctx, ptr, nbytes);
}

#define ROUTED_ALLOC \
    {NULL, routed_malloc, routed_calloc, routed_realloc, _PyObject_Free}
#define REAL_PYMALLOC_ALLOC \
    {NULL, _PyObject_Malloc, _PyObject_Calloc, _PyObject_Realloc, _PyObject_Free}


/* --- pool mode: pymalloc kept, each block announced to Memcheck -----------

   Routing hides what only pymalloc's layout shows: a PyMem_Malloc() block
   handed to free() is harmless once routed (malloc matches free), and
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
   the offset, in the arena's first pool, of the link it will write. */
static size_t pool_new_arena_link;

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

/* What "pymalloc" means in this process: the first-use functions until the
   decision, then pymalloc's own or the routed ones.  obmalloc.c's
   PYMALLOC_ALLOC reads it, so that setting up allocators after the decision
   (PYTHONMALLOC, a second Py_Initialize) installs the chosen functions. */
static PyMemAllocatorEx valgrind_pymalloc = _PyValgrind_FIRST_USE_ALLOC;


/* --- which tool is running -------------------------------------------------

   No client request names the tool.  Valgrind maps the tool's executable into
   the process, as /usr/libexec/valgrind/memcheck-amd64-linux for instance, so
   its name is in /proc/self/maps.  This runs at the first allocation: no
   stdio, no heap. */

/* If a /proc/self/maps line names a Valgrind tool executable, copy the
   tool's name ("memcheck") into valgrind_tool and return 1. */
static int
tool_from_maps_line(const char *line)
{
    const char *path = strstr(line, "/valgrind/");
    if (path == NULL) {
        return 0;
    }
    const char *base = strrchr(path, '/') + 1;
    size_t len = strlen(base);
    if (strncmp(base, "vgpreload_", 10) == 0
        || len < 6 || strcmp(base + len - 6, "-linux") != 0)
    {
        return 0;
    }
    /* "<tool>-<arch>-<os>": drop the last two dash-separated fields. */
    const char *end = strrchr(base, '-');
    if (end == NULL) {
        return 0;
    }
    while (end > base && end[-1] != '-') {
        end--;
    }
    if (end == base || (size_t)(end - base) > sizeof(valgrind_tool)) {
        return 0;
    }
    memcpy(valgrind_tool, base, end - base - 1);
    valgrind_tool[end - base - 1] = '\0';
    return 1;
}

static void
read_tool_name(void)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    char line[512];
    size_t len = 0;
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (chunk[i] != '\n') {
                if (len < sizeof(line) - 1) {
                    line[len++] = chunk[i];
                }
                continue;
            }
            line[len] = '\0';
            len = 0;
            if (tool_from_maps_line(line)) {
                close(fd);
                return;
            }
        }
    }
    close(fd);
}


/* --- the decision ----------------------------------------------------------- */

/* Tools that replace malloc() to track every heap block: they only see what
   pymalloc hands out if it is routed to malloc().  Every other tool (callgrind,
   cachegrind, lackey, none, and tools unknown here) keeps pymalloc. */
static const char * const heap_tracking_tools[] = {
    "memcheck", "helgrind", "drd", "massif", "dhat", NULL,
};

static int
parse_mode(const char *value, _PyValgrind_Mode *mode)
{
    if (value == NULL || value[0] == '\0' || strcmp(value, "auto") == 0) {
        *mode = _PyValgrind_UNDECIDED;  /* the tool decides */
    }
    else if (strcmp(value, "malloc") == 0) {
        *mode = _PyValgrind_MALLOC;
    }
    else if (strcmp(value, "pymalloc") == 0) {
        *mode = _PyValgrind_PYMALLOC;
    }
    else if (strcmp(value, "pool") == 0) {
        *mode = _PyValgrind_POOL;
    }
    else {
        return -1;
    }
    return 0;
}

static _PyValgrind_Mode
default_mode_for_tool(const char *tool)
{
    for (int i = 0; heap_tracking_tools[i] != NULL; i++) {
        if (strcmp(tool, heap_tracking_tools[i]) == 0) {
            return _PyValgrind_MALLOC;
        }
    }
    return _PyValgrind_PYMALLOC;
}

/* PYTHONVALGRIND is read here, at the first allocation, before the command
   line is parsed: -E and -I do not hide it.  A bad value counts as "auto"
   here, and _PyValgrind_CheckEnv() stops the startup with an error. */
static _PyValgrind_Mode
decide_mode(void)
{
    if (!RUNNING_ON_VALGRIND) {
        return _PyValgrind_NATIVE;
    }
    read_tool_name();
    _PyValgrind_Mode mode;
    if (parse_mode(getenv("PYTHONVALGRIND"), &mode) < 0
        || mode == _PyValgrind_UNDECIDED)
    {
        mode = default_mode_for_tool(valgrind_tool);
    }
    /* Pool mode speaks to Memcheck only: under any other tool its requests
       would be ignored at best (DHAT warns about each), so the tool's
       default applies, as for "auto". */
    if (mode == _PyValgrind_POOL && strcmp(valgrind_tool, "memcheck") != 0) {
        mode = default_mode_for_tool(valgrind_tool);
    }
    return mode;
}

/* Replace the first-use functions wherever the allocator tables still hold
   them: the standard tables and the tables beneath the debug hooks. */
static void
install_chosen_allocator(void)
{
    PyMemAllocatorEx *tables[] = {
        &_PyMem, &_PyObject, &_PyMem_Debug.mem.alloc, &_PyMem_Debug.obj.alloc,
    };
    PyMutex_Lock(&ALLOCATORS_MUTEX);
    for (size_t i = 0; i < Py_ARRAY_LENGTH(tables); i++) {
        if (tables[i]->malloc == _PyValgrind_FirstMalloc) {
            *tables[i] = valgrind_pymalloc;
        }
    }
    /* Pool mode takes its arenas from malloc() (see above), unless an
       embedder set its own arena allocator. */
    if (valgrind_mode == _PyValgrind_POOL
        && _PyObject_Arena.alloc == _PyMem_ArenaAlloc)
    {
        _PyObject_Arena = (PyObjectArenaAllocator)POOL_ARENA_ALLOC;
    }
    PyMutex_Unlock(&ALLOCATORS_MUTEX);
}

/* Called through a first-use function: by the very first allocation, or by
   a caller holding a copy of a table taken before it (PyMem_GetAllocator()
   before any allocation, or a runtime reset by Py_Finalize()).  Deciding is
   idempotent: two threads racing here decide the same. */
static const PyMemAllocatorEx *
first_use(void)
{
    if (valgrind_mode == _PyValgrind_UNDECIDED) {
        _PyValgrind_Mode mode = decide_mode();
        PyMemAllocatorEx chosen;
        switch (mode) {
        case _PyValgrind_MALLOC:
            chosen = (PyMemAllocatorEx)ROUTED_ALLOC;
            break;
        case _PyValgrind_POOL:
            chosen = (PyMemAllocatorEx)POOL_ALLOC;
            break;
        default:
            chosen = (PyMemAllocatorEx)REAL_PYMALLOC_ALLOC;
            break;
        }
        valgrind_pymalloc = chosen;
        valgrind_mode = mode;
    }
    install_chosen_allocator();
    return &valgrind_pymalloc;
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


/* --- Memcheck silent on correct code ---------------------------------------- */

/* Memcheck tracks each block: routed to malloc(), or in pool mode. */
static int
routed(void)
{
    _PyValgrind_Mode mode = _PyValgrind_GetMode();
    return mode == _PyValgrind_MALLOC || mode == _PyValgrind_POOL;
}

/* Blocks kept until exit on purpose, each held by a start pointer. */
static struct {
    void **blocks;
    size_t count;
    size_t capacity;
} kept_reachable;

void
_PyValgrind_KeepReachable(void *block)
{
    if (!routed()) {
        return;
    }
    if (kept_reachable.count == kept_reachable.capacity) {
        size_t capacity = kept_reachable.capacity ? 2 * kept_reachable.capacity : 1024;
        void **blocks = realloc(kept_reachable.blocks, capacity * sizeof(void *));
        if (blocks == NULL) {
            return;     /* reported as lost, which is only noise */
        }
        kept_reachable.blocks = blocks;
        kept_reachable.capacity = capacity;
    }
    kept_reachable.blocks[kept_reachable.count++] = block;
}

/* A subinterpreter with its own pymalloc state that still has blocks in use
   when it is finalised keeps its arenas on purpose
   (_PyInterpreterState_FinalizeAllocatedBlocks()), then frees the state
   that points to pymalloc's tables of them.  In pool mode the arenas hold
   announced blocks and the tables (the arena array, the radix tree's
   nodes) are heap blocks of their own: keep them reachable, as what CPython
   keeps until exit. */
static void
valgrind_keep_obmalloc_state(OMState *state)
{
    _PyValgrind_KeepReachable(allarenas);
#if WITH_PYMALLOC_RADIX_TREE && defined(USE_INTERIOR_NODES)
    for (int i = 0; i < MAP_TOP_LENGTH; i++) {
        if (arena_map_root.ptrs[i] != NULL) {
            _PyValgrind_KeepReachable(arena_map_root.ptrs[i]);
        }
    }
#endif
}

void
_PyValgrind_InitFreeLists(struct _Py_object_freelists *freelists)
{
    if (routed()) {
        _PyObject_ClearFreeLists(freelists, 1);
    }
}

int
_PyValgrind_FreeListsDisabled(void)
{
    return routed();
}


/* A growable stack of objects, in raw memory. */
typedef struct {
    PyObject **items;
    size_t count;
    size_t capacity;
} object_stack;

static int
object_stack_push(object_stack *stack, PyObject *op)
{
    if (stack->count == stack->capacity) {
        size_t capacity = stack->capacity ? 2 * stack->capacity : 4096;
        PyObject **items = realloc(stack->items, capacity * sizeof(PyObject *));
        if (items == NULL) {
            return -1;
        }
        stack->items = items;
        stack->capacity = capacity;
    }
    stack->items[stack->count++] = op;
    return 0;
}

static int
visit_push(PyObject *op, void *stack)
{
    if (op != NULL) {
        (void)object_stack_push((object_stack *)stack, op);
    }
    return 0;
}

/* A static type is not a GC object and has no traverse function, but its
   dict, bases, MRO and subclass registry are heap objects. */
static void
push_static_type_members(object_stack *roots, PyTypeObject *type)
{
    /* Static builtin types keep their subclasses in the interpreter. */
    if (!(type->tp_flags & _Py_TPFLAGS_STATIC_BUILTIN)
        && type->tp_subclasses != NULL)
    {
        (void)object_stack_push(roots, type->tp_subclasses);
    }
    PyObject *dict = _PyType_GetDict(type);
    if (dict != NULL) {
        (void)object_stack_push(roots, dict);
    }
    PyObject *bases = _PyType_GetBases(type);
    if (bases != NULL) {
        (void)object_stack_push(roots, bases);
        Py_DECREF(bases);   /* the type holds it */
    }
    PyObject *mro = _PyType_GetMRO(type);
    if (mro != NULL) {
        (void)object_stack_push(roots, mro);
        Py_DECREF(mro);
    }
}

/* Keep reachable every GC object reachable from the objects in roots. */
static void
keep_reachable_from(object_stack *roots)
{
    _Py_hashtable_t *seen = _Py_hashtable_new(_Py_hashtable_hash_ptr,
                                              _Py_hashtable_compare_direct);
    if (seen == NULL) {
        return;
    }
    while (roots->count > 0) {
        PyObject *op = roots->items[--roots->count];
        if (PyType_Check(op) && !_PyType_HasFeature((PyTypeObject *)op,
                                                    Py_TPFLAGS_HEAPTYPE)) {
            push_static_type_members(roots, (PyTypeObject *)op);
            continue;
        }
        if (!_PyObject_IS_GC(op) || _Py_hashtable_get(seen, op) != NULL) {
            continue;
        }
        if (_Py_hashtable_set(seen, op, op) < 0) {
            break;
        }
        _PyValgrind_KeepReachable((char *)op - _PyType_PreHeaderSize(Py_TYPE(op)));
        traverseproc traverse = Py_TYPE(op)->tp_traverse;
        if (traverse != NULL) {
            (void)traverse(op, visit_push, roots);
        }
    }
    _Py_hashtable_destroy(seen);
}

/* Push every type that derives from object: static types of extension
   modules are in no GC list, but what they point to (their dict, bases and
   MRO) is heap memory kept on purpose. */
static void
push_all_types(object_stack *roots)
{
    object_stack pending = {NULL, 0, 0};
    _Py_hashtable_t *seen = _Py_hashtable_new(_Py_hashtable_hash_ptr,
                                              _Py_hashtable_compare_direct);
    if (seen == NULL) {
        return;
    }
    PyObject *exc = PyErr_GetRaisedException();
    (void)object_stack_push(&pending, (PyObject *)&PyBaseObject_Type);
    while (pending.count > 0) {
        PyTypeObject *type = (PyTypeObject *)pending.items[--pending.count];
        if (_Py_hashtable_get(seen, type) != NULL
            || _Py_hashtable_set(seen, type, type) < 0)
        {
            continue;
        }
        (void)object_stack_push(roots, (PyObject *)type);
        PyObject *subclasses = _PyType_GetSubclasses(type);
        if (subclasses == NULL) {
            PyErr_Clear();
            continue;
        }
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(subclasses); i++) {
            (void)object_stack_push(&pending, PyList_GET_ITEM(subclasses, i));
        }
        Py_DECREF(subclasses);
    }
    PyErr_SetRaisedException(exc);
    _Py_hashtable_destroy(seen);
    free(pending.items);
}

static void
forget_gc_list(PyGC_Head *head)
{
    PyGC_Head *gc = _PyGCHead_NEXT(head);
    while (gc != head) {
        PyGC_Head *next = _PyGCHead_NEXT(gc);
        _PyGCHead_SET_NEXT(gc, gc);
        _PyGCHead_SET_PREV(gc, gc);
        gc = next;
    }
    _PyGCHead_SET_NEXT(head, head);
    _PyGCHead_SET_PREV(head, head);
}

void
_PyValgrind_ForgetGCLists(struct _gc_runtime_state *gcstate)
{
    if (!routed()) {
        return;
    }
    PyGC_Head *lists[NUM_GENERATIONS + 1];
    for (int i = 0; i < NUM_GENERATIONS; i++) {
        lists[i] = &gcstate->generations[i].head;
    }
    lists[NUM_GENERATIONS] = &gcstate->permanent_generation.head;

    object_stack roots = {NULL, 0, 0};
    push_all_types(&roots);
    for (size_t i = 0; i < Py_ARRAY_LENGTH(lists); i++) {
        for (PyGC_Head *gc = _PyGCHead_NEXT(lists[i]); gc != lists[i];
             gc = _PyGCHead_NEXT(gc))
        {
            PyObject *op = _Py_FROM_GC(gc);
            if (PyType_Check(op) || PyModule_Check(op)) {
                (void)object_stack_push(&roots, op);
            }
        }
    }
    keep_reachable_from(&roots);
    free(roots.items);
    for (size_t i = 0; i < Py_ARRAY_LENGTH(lists); i++) {
        forget_gc_list(lists[i]);
    }
}


/* --- queries ------------------------------------------------------------- */

_PyValgrind_Mode
_PyValgrind_GetMode(void)
{
    if (valgrind_mode == _PyValgrind_UNDECIDED) {
        (void)first_use();
    }
    return valgrind_mode;
}

const char *
_PyValgrind_ModeName(_PyValgrind_Mode mode)
{
    switch (mode) {
    case _PyValgrind_NATIVE: return "native";
    case _PyValgrind_MALLOC: return "malloc";
    case _PyValgrind_PYMALLOC: return "pymalloc";
    case _PyValgrind_POOL: return "pool";
    default: return "undecided";
    }
}

const char *
_PyValgrind_GetToolName(void)
{
    (void)_PyValgrind_GetMode();
    return valgrind_tool[0] != '\0' ? valgrind_tool : NULL;
}

PyStatus
_PyValgrind_CheckEnv(void)
{
    _PyValgrind_Mode mode;
    if (parse_mode(getenv("PYTHONVALGRIND"), &mode) < 0) {
        return _PyStatus_ERR("PYTHONVALGRIND: unknown mode "
                             "(expected auto, malloc, pymalloc or pool)");
    }
    return _PyStatus_OK();
}
