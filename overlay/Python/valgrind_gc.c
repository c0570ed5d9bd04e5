/* Valgrind support: what the GC's lists hide from Memcheck's leak checker.

   The leak checker calls a block reachable when a defined, pointer-sized
   word of a root or of a reachable block holds its address.  The GC lists
   link every tracked container by its GC header, the start of its block:
   through them a leaked list or instance looks "still reachable".  And a
   PyObject * points past the GC header, which the leak checker counts as
   an interior pointer: a container that only C variables hold looks
   "possibly lost".  Two hooks correct that:

   - at the GC's finalisation, _PyValgrind_ForgetGCLists() keeps reachable,
     by start pointer, every object that live types and modules, or the C
     static variables of any loaded object, reach; then drops the lists'
     links;
   - for a search in the middle of a run (_valgrind.leak_check()),
     _PyValgrind_AddedLeakSearch() (Python/valgrind_search.c) hides the
     lists' links from the leak checker for the duration of the search.

   pycore_valgrind.h gives the overview. */

#include "Python.h"
#include "pycore_gc.h"            // _PyGCHead_NEXT()
#include "pycore_hashtable.h"     // _Py_hashtable_new()
#include "pycore_llist.h"         // llist_for_each()
#include "pycore_tstate.h"        // _PyThreadStateImpl
#include "pycore_interp.h"        // PyInterpreterState.gc
#include "pycore_object.h"        // _PyObject_IS_GC(), _PyType_PreHeaderSize()
#include "pycore_typeobject.h"    // _PyType_GetSubclasses()
#include "pycore_valgrind.h"

#ifdef WITH_VALGRIND

#include <link.h>                 // dl_iterate_phdr()
#include <valgrind/memcheck.h>    // VALGRIND_GET_VBITS()


/* --- at exit: what live types and modules reach stays reachable ---------- */

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

/* A code object is not a GC object and has no traverse function, but its
   tuples of constants and names are GC objects, and so are the cached
   tuples of its co_* attributes. */
static void
push_code_members(object_stack *roots, PyCodeObject *code)
{
    PyObject *members[] = {
        code->co_consts, code->co_names, code->co_localsplusnames,
        code->_co_cached ? code->_co_cached->_co_varnames : NULL,
        code->_co_cached ? code->_co_cached->_co_cellvars : NULL,
        code->_co_cached ? code->_co_cached->_co_freevars : NULL,
    };
    for (size_t i = 0; i < Py_ARRAY_LENGTH(members); i++) {
        if (members[i] != NULL) {
            (void)object_stack_push(roots, members[i]);
        }
    }
}

/* An instance whose attributes live in its inline values may also have a
   dict object, made when something asked for its __dict__
   (_PyObject_MaterializeManagedDict()), that shares those values.  The
   traverse function visits the values, not that dict: its only pointer is
   the instance's managed-dict slot, in the pre-header. */
static void
push_managed_dict(object_stack *roots, PyObject *op)
{
    if (_PyType_HasFeature(Py_TYPE(op), Py_TPFLAGS_MANAGED_DICT)) {
        PyDictObject *dict = _PyObject_ManagedDictPointer(op)->dict;
        if (dict != NULL) {
            (void)object_stack_push(roots, (PyObject *)dict);
        }
    }
}

/* Memory the process may read.  Memcheck's addressability follows mmap(),
   munmap() and brk(), not mprotect(): a page made inaccessible later (a
   guard page, a library allocator's reservation) is addressable to it, and
   a word of static data that names such a page faulted when the scan read
   it (test___all__ with -uall).  A walk first loads the ranges that
   /proc/self/maps calls readable, and follows no pointer outside them;
   without /proc, every addressable byte is trusted, as before. */
typedef struct {
    uintptr_t start;
    uintptr_t end;
} address_range;

static struct {
    address_range *items;
    size_t count;
    size_t capacity;
    int known;
} readable;

static void
load_readable_ranges(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL) {
        return;
    }
    unsigned long start, end;
    char perms[5];
    readable.known = 1;
    while (fscanf(maps, "%lx-%lx %4s%*[^\n]", &start, &end, perms) == 3) {
        if (perms[0] != 'r') {
            continue;
        }
        address_range *last = readable.count ? &readable.items[readable.count - 1]
                                             : NULL;
        if (last != NULL && last->end == start) {
            last->end = end;        /* contiguous: one range */
            continue;
        }
        if (readable.count == readable.capacity) {
            size_t capacity = readable.capacity ? 2 * readable.capacity : 256;
            address_range *items = realloc(readable.items,
                                           capacity * sizeof(*items));
            if (items == NULL) {
                readable.known = 0;     /* trust, as without /proc */
                break;
            }
            readable.items = items;
            readable.capacity = capacity;
        }
        readable.items[readable.count++] = (address_range){start, end};
    }
    fclose(maps);
}

static void
forget_readable_ranges(void)
{
    free(readable.items);
    readable.items = NULL;
    readable.count = readable.capacity = 0;
    readable.known = 0;
}

/* May the SIZE bytes at P be read, as far as the loaded ranges tell? */
static int
is_readable(const void *p, size_t size)
{
    if (!readable.known) {
        return 1;
    }
    uintptr_t start = (uintptr_t)p, end = start + size;
    size_t lo = 0, hi = readable.count;     /* /proc lists them in order */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (readable.items[mid].end <= start) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return (lo < readable.count && readable.items[lo].start <= start
            && end <= readable.items[lo].end);
}

/* Under Memcheck, are the SIZE bytes at P addressable, readable and
   defined?  Other tools know no definedness: there, the bytes are
   trusted. */
static int
is_defined(const void *p, size_t size, int memcheck)
{
    char vbits[sizeof(PyObject)];
    assert(size <= sizeof(vbits));
    if (!memcheck) {
        return 1;
    }
    if (!is_readable(p, size)) {
        return 0;
    }
    if (VALGRIND_GET_VBITS(p, vbits, size) != 1) {
        return 0;       /* not addressable */
    }
    for (size_t i = 0; i < size; i++) {
        if (vbits[i] != 0) {
            return 0;
        }
    }
    return 1;
}

/* Under Memcheck, are the SIZE bytes at P addressable and readable? */
static int
is_addressable(const void *p, size_t size)
{
    char vbits[256];
    if (!is_readable(p, size)) {
        return 0;
    }
    for (size_t done = 0; done < size; done += sizeof(vbits)) {
        size_t n = Py_MIN(sizeof(vbits), size - done);
        if (VALGRIND_GET_VBITS((const char *)p + done, vbits, n) == 3) {
            return 0;
        }
    }
    return 1;
}

/* Does OP look like a live object: its header, its type's header and its
   type's flags addressable and defined (under Memcheck), its type a type,
   and the whole object (items included) addressable?  A pointer the walk
   finds may be stale: a C static or a dead object's slot still naming a
   block that was freed and taken again, maybe by a smaller one, past
   which a traverse function would read.  Other tools know no
   definedness: there, the pointer is trusted. */
static int
is_object(PyObject *op, int memcheck)
{
    if (!is_defined(op, sizeof(PyObject), memcheck)) {
        return 0;
    }
    PyTypeObject *type = Py_TYPE(op);
    if (type == NULL || !is_defined(type, sizeof(PyObject), memcheck)) {
        return 0;
    }
    PyTypeObject *meta = Py_TYPE(type);
    if (meta == NULL
        || !is_defined(&meta->tp_flags, sizeof(meta->tp_flags), memcheck)
        || !PyType_Check(type))
    {
        return 0;
    }
    if (!memcheck) {
        return 1;
    }
    size_t size = (size_t)type->tp_basicsize;
    /* An int's ob_size is no count of items (its lv_tag). */
    if (type->tp_itemsize != 0 && !PyLong_Check(op)) {
        if (!is_addressable(op, sizeof(PyVarObject))) {
            return 0;
        }
        size += (size_t)Py_ABS(Py_SIZE(op)) * (size_t)type->tp_itemsize;
    }
    return is_addressable(op, size);
}

/* What one walk may follow. */
typedef struct {
    int memcheck;           /* Memcheck's requests may be issued */
    int static_types;       /* follow static types' members */
    /* At a subinterpreter's end, the objects of its own GC lists: a
       tracked object not among them belongs to another interpreter, still
       running (its frames half-built, its lists being filled), which
       keeps what it needs at its own end.  NULL at the main
       interpreter's end. */
    _Py_hashtable_t *own;
} walk_scope;

/* Keep reachable every GC object reachable from the objects in ROOTS.

   At exit, a live object may still hold a pointer to an object already
   freed (a module's state, a capsule's traverse function, a C struct
   copied into a static): the walk must not follow it.  Under Memcheck,
   what is not an object by is_object() is skipped.
   Once the static types are finalised, their members are gone; and
   before, at a subinterpreter's end, they are the main interpreter's:
   SCOPE says whether they are followed. */
static void
keep_reachable_from(object_stack *roots, const walk_scope *scope)
{
    int memcheck = scope->memcheck;
    _Py_hashtable_t *seen = _Py_hashtable_new(_Py_hashtable_hash_ptr,
                                              _Py_hashtable_compare_direct);
    if (seen == NULL) {
        return;
    }
    /* What the walk reads is no access of the program's: should a stale
       pointer pass is_object(), its reads are not reported as the
       program's errors. */
    VALGRIND_DISABLE_ERROR_REPORTING;
    while (roots->count > 0) {
        PyObject *op = roots->items[--roots->count];
        if (!is_object(op, memcheck)) {
            continue;
        }
        if (PyType_Check(op) && !_PyType_HasFeature((PyTypeObject *)op,
                                                    Py_TPFLAGS_HEAPTYPE)) {
            if (scope->static_types) {
                push_static_type_members(roots, (PyTypeObject *)op);
            }
            continue;
        }
        if (PyCode_Check(op)) {
            push_code_members(roots, (PyCodeObject *)op);
            if (!_PyObject_IS_GC(op)) {
                continue;   /* the free-threaded build tracks code objects */
            }
        }
        if (PyType_Check(op)) {
            /* type_traverse() visits neither a heap type's subclass
               registry (a dict of weak references) nor its __slots__. */
            PyTypeObject *type = (PyTypeObject *)op;
            PyObject *slots = ((PyHeapTypeObject *)type)->ht_slots;
            if (type->tp_subclasses != NULL) {
                (void)object_stack_push(roots, type->tp_subclasses);
            }
            if (slots != NULL) {
                (void)object_stack_push(roots, slots);
            }
        }
        if (!_PyObject_IS_GC(op) || _Py_hashtable_get(seen, op) != NULL) {
            continue;
        }
        if (scope->own != NULL && _PyObject_GC_IS_TRACKED(op)
            && _Py_hashtable_get(scope->own, op) == NULL)
        {
            continue;   /* another interpreter's */
        }
        if (_Py_hashtable_set(seen, op, op) < 0) {
            break;
        }
        _PyValgrind_KeepReachable((char *)op
                                  - _PyType_PreHeaderSize(Py_TYPE(op)));
        traverseproc traverse = Py_TYPE(op)->tp_traverse;
        if (traverse != NULL) {
            (void)traverse(op, visit_push, roots);
        }
        push_managed_dict(roots, op);
    }
    VALGRIND_ENABLE_ERROR_REPORTING;
    _Py_hashtable_destroy(seen);
}

#ifndef Py_GIL_DISABLED

/* Push every type that derives from object onto ROOTS (unless NULL), and
   add it to the set SEEN: static types of extension modules are in no GC
   list, but what they point to (their dict, bases and MRO) is heap memory
   kept on purpose. */
static void
push_all_types(object_stack *roots, _Py_hashtable_t *seen)
{
    object_stack pending = {NULL, 0, 0};
    PyObject *exc = PyErr_GetRaisedException();
    (void)object_stack_push(&pending, (PyObject *)&PyBaseObject_Type);
    while (pending.count > 0) {
        PyTypeObject *type = (PyTypeObject *)pending.items[--pending.count];
        if (_Py_hashtable_get(seen, type) != NULL
            || _Py_hashtable_set(seen, type, type) < 0)
        {
            continue;
        }
        if (roots != NULL) {
            (void)object_stack_push(roots, (PyObject *)type);
        }
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
    free(pending.items);
}

/* Objects held by C variables.

   An extension keeps objects in static variables (single-phase init
   modules, cached constants): alive and referenced, but through interior
   pointers, so Memcheck would call each "possibly lost".  Three ways out
   were weighed:

   - announce each GC object to Memcheck at its PyObject address rather
     than at its block (MALLOCLIKE inside the malloc() block): exact, but a
     client request in every GC allocation, resize and free, reached
     through _PyObject_MallocWithType(), pymalloc's hottest caller, which
     would need a test there natively too;
   - Memcheck's --leak-check-heuristics: none of them (stdstring,
     length64, newarray, multipleinheritance) fits a two-word GC header;
   - here, once, at exit: scan the writable segments of every loaded object
     (the executable, libpython, each extension), where C static variables
     live, for words that hold the address of a tracked object, and keep
     what they reach reachable by start pointer, as for types and modules.

   The third costs nothing before exit, and at exit one pass over the
   static data (a few megabytes; make bench-memcheck shows its time).  A
   leaked object has no pointer to it in any static variable: it stays
   "definitely lost", with its allocation stack.  Objects held only from
   heap memory that is not a Python object (a C struct that an extension
   allocated) are not found: Memcheck still calls them "possibly lost". */

typedef struct {
    _Py_hashtable_t *tracked;   /* every object in the GC lists */
    _Py_hashtable_t *types;     /* every live type */
    int memcheck;               /* Memcheck's requests may be issued */
    int malloc_mode;
    object_stack *roots;
} static_scan;

/* Is WORD the address of a GC object that the GC does not track?  The GC
   untracks tuples and dicts that hold only atomic values, so the lists do
   not name them.  Such a word must point to a defined object header whose
   type is a live GC type (not a type: types are roots already), with a
   refcount above zero, its pre-header addressable (in malloc mode, the
   byte before it is malloc()'s redzone).  Anything else is not followed. */
static int
is_untracked_object(static_scan *scan, PyObject *word)
{
    if (!scan->memcheck || !is_defined(word, sizeof(PyObject), 1)) {
        return 0;       /* other tools warn about Memcheck's requests */
    }
    PyTypeObject *type = Py_TYPE(word);
    if (_Py_hashtable_get(scan->types, type) == NULL
        || !_PyType_IS_GC(type) || Py_REFCNT(word) <= 0
        || PyType_Check(word))  /* types are roots already */
    {
        return 0;
    }
    char *block = (char *)word - _PyType_PreHeaderSize(type);
    char bits;
    if (VALGRIND_GET_VBITS(block, &bits, 1) != 1) {
        return 0;
    }
    return !scan->malloc_mode || VALGRIND_GET_VBITS(block - 1, &bits, 1) == 3;
}

static int
scan_static_segments(struct dl_phdr_info *info, size_t Py_UNUSED(size),
                     void *arg)
{
    static_scan *scan = (static_scan *)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) {
            continue;
        }
        uintptr_t start = _Py_SIZE_ROUND_UP(info->dlpi_addr + ph->p_vaddr,
                                            sizeof(void *));
        uintptr_t end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        int whole = end <= start || is_readable((void *)start, end - start);
        for (uintptr_t p = start; p + sizeof(void *) <= end;
             p += sizeof(void *))
        {
            if (!whole && !is_readable((void *)p, sizeof(void *))) {
                continue;
            }
            void *word = *(void **)p;
            if (word == NULL || ((uintptr_t)word & (sizeof(void *) - 1))) {
                continue;
            }
            /* A word never written (padding, a copy of uninitialised
               memory) may hold any address: it holds nothing. */
            if ((_Py_hashtable_get(scan->tracked, word) != NULL
                 || is_untracked_object(scan, (PyObject *)word))
                && is_defined((void *)p, sizeof(void *), scan->memcheck))
            {
                (void)object_stack_push(scan->roots, (PyObject *)word);
            }
        }
    }
    return 0;
}

/* Push every GC object that a C static variable points to. */
static void
push_objects_held_by_statics(_Py_hashtable_t *tracked, _Py_hashtable_t *types,
                             object_stack *roots)
{
    /* Static data may hold bytes never written (padding, copies of
       uninitialised memory): reading them for this scan is no error of
       the program's. */
    static_scan scan = {
        tracked, types, _PyValgrind_RunningMemcheck(),
        _PyValgrind_GetMode() == _PyValgrind_MALLOC, roots,
    };
    VALGRIND_DISABLE_ERROR_REPORTING;
    (void)dl_iterate_phdr(scan_static_segments, &scan);
    VALGRIND_ENABLE_ERROR_REPORTING;
}

/* The set of the objects in the GC lists, or NULL if out of memory. */
static _Py_hashtable_t *
tracked_objects(PyGC_Head **lists, size_t nlists)
{
    _Py_hashtable_t *tracked = _Py_hashtable_new(
        _Py_hashtable_hash_ptr, _Py_hashtable_compare_direct);
    if (tracked == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < nlists; i++) {
        for (PyGC_Head *gc = _PyGCHead_NEXT(lists[i]); gc != lists[i];
             gc = _PyGCHead_NEXT(gc))
        {
            PyObject *op = _Py_FROM_GC(gc);
            if (_Py_hashtable_set(tracked, op, op) < 0) {
                _Py_hashtable_destroy(tracked);
                return NULL;
            }
        }
    }
    return tracked;
}

/* Each object's links are made to point to itself, so that a later
   untrack stays harmless. */
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
    if (!_PyValgrind_EachBlockTracked()) {
        return;
    }
    load_readable_ranges();
    PyGC_Head *lists[NUM_GENERATIONS + 1];
    for (int i = 0; i < NUM_GENERATIONS; i++) {
        lists[i] = &gcstate->generations[i].head;
    }
    lists[NUM_GENERATIONS] = &gcstate->permanent_generation.head;

    /* The main interpreter ends last: its walk starts from every type.  A
       subinterpreter ends while the main interpreter runs; its walk keeps
       only its own objects (walk_scope).  The live types are still needed
       to recognise untracked objects held by statics. */
    int is_main = (gcstate == &_PyInterpreterState_Main()->gc);
    object_stack roots = {NULL, 0, 0};
    _Py_hashtable_t *types = _Py_hashtable_new(_Py_hashtable_hash_ptr,
                                               _Py_hashtable_compare_direct);
    if (types != NULL) {
        push_all_types(is_main ? &roots : NULL, types);
    }
    /* After push_all_types(), which calls into the types: objects leave
       the lists meanwhile (four in -c pass) while statics still name
       them; taken before, the set let the scan push those stale names. */
    _Py_hashtable_t *tracked = tracked_objects(lists, Py_ARRAY_LENGTH(lists));
    if (tracked != NULL && types != NULL) {
        push_objects_held_by_statics(tracked, types, &roots);
    }
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
    walk_scope scope = {_PyValgrind_RunningMemcheck(), is_main,
                        is_main ? NULL : tracked};
    if (is_main || tracked != NULL) {
        keep_reachable_from(&roots, &scope);
    }
    free(roots.items);
    if (types != NULL) {
        _Py_hashtable_destroy(types);
    }
    if (tracked != NULL) {
        _Py_hashtable_destroy(tracked);
    }
    forget_readable_ranges();
    for (size_t i = 0; i < Py_ARRAY_LENGTH(lists); i++) {
        forget_gc_list(lists[i]);
    }
}

#else   /* Py_GIL_DISABLED */

/* The free-threaded GC keeps no lists: it finds objects by walking
   mimalloc's heaps, and there is nothing to forget at its finalisation. */
void
_PyValgrind_ForgetGCLists(struct _gc_runtime_state *Py_UNUSED(gcstate))
{
}

/* What the free-threaded runtime leaves behind at exit.

   Objects whose reference count cannot reach zero stay in mimalloc's
   pages after the interpreter is cleared: immortal ones (code constants,
   interned strings) and those with deferred reference counts (functions,
   code, types, modules, the descriptors of static types), which only a
   collection frees, and none runs after the types are finalised.  Nothing
   points to them any more, so Memcheck would call each "definitely lost",
   about fifty records for -c pass.  They are the runtime's own: keep them,
   and what they reach, reachable by start pointer.  An object that a
   program leaked (a reference never released) is neither immortal nor
   deferred: it stays lost, reported at its allocation.

   Two more kinds are left behind by biased reference counting and QSBR:
   an object whose last reference another thread than its owner dropped
   waits, with a count of zero or less, for its owner to merge the counts
   (the owner is gone, and no collection merges them any more); and the
   main thread's queue of delayed frees (_PyMem_FreeDelayed()) is handed
   to the interpreter after the interpreter's queue was emptied for the
   last time.  Both are kept reachable too: the program did not leak them.

   Called once the thread states' heaps are abandoned to the interpreter's
   pool, where the GC finds them too. */

typedef struct {
    object_stack *roots;
    size_t offset;              /* of the object in its block */
    int memcheck;
} exit_walk;

/* Does the block hold an object?  The blocks of the GC heaps all do; the
   other object heap also serves PyObject_Malloc() for buffers.  An object
   has a defined header whose type is a type. */
static int
holds_object(exit_walk *walk, PyObject *op)
{
    return (is_object(op, walk->memcheck)
            && Py_IS_TYPE(Py_TYPE(op), &PyType_Type));
}

static bool
push_runtime_object(const mi_heap_t *Py_UNUSED(heap),
                    const mi_heap_area_t *Py_UNUSED(area), void *block,
                    size_t Py_UNUSED(block_size), void *arg)
{
    exit_walk *walk = arg;
    if (block == NULL) {
        return true;
    }
    PyObject *op = (PyObject *)((char *)block + walk->offset);
    if (!holds_object(walk, op)) {
        return true;
    }
    if (_Py_IsImmortal(op) || _PyObject_HasDeferredRefcount(op)
        || Py_REFCNT(op) <= 0)
    {
        if (!_PyObject_IS_GC(op)) {
            _PyValgrind_KeepReachable(op);  /* the walk keeps GC objects */
        }
        (void)object_stack_push(walk->roots, op);
    }
    return true;
}

void
_PyValgrind_KeepRuntimeObjectsReachable(PyInterpreterState *interp)
{
    if (!_PyValgrind_EachBlockTracked()) {
        return;
    }
    load_readable_ranges();
    object_stack roots = {NULL, 0, 0};
    mi_abandoned_pool_t *pool = &interp->mimalloc.abandoned_pool;
    exit_walk walk = {&roots, 0, _PyValgrind_RunningMemcheck()};
    (void)_mi_abandoned_pool_visit_blocks(pool, _Py_MIMALLOC_HEAP_OBJECT, true,
                                          push_runtime_object, &walk);
    (void)_mi_abandoned_pool_visit_blocks(pool, _Py_MIMALLOC_HEAP_GC, true,
                                          push_runtime_object, &walk);
    walk.offset = 2 * sizeof(PyObject *);   /* the pre-header */
    (void)_mi_abandoned_pool_visit_blocks(pool, _Py_MIMALLOC_HEAP_GC_PRE, true,
                                          push_runtime_object, &walk);
    walk_scope scope = {walk.memcheck, 0, NULL};
    keep_reachable_from(&roots, &scope);
    free(roots.items);
    forget_readable_ranges();

    struct llist_node *queue =
        &((_PyThreadStateImpl *)_PyThreadState_GET())->mem_free_queue;
    struct llist_node *chunk;
    llist_for_each(chunk, queue) {
        _PyValgrind_KeepReachable(chunk);   /* its first member */
    }
}

#endif  /* Py_GIL_DISABLED */
#endif  /* WITH_VALGRIND */
