/* Valgrind support: the decision, the tool, and what keeps Memcheck silent
   on correct code.  pycore_valgrind.h gives the overview; the allocator side
   is Objects/obmalloc_valgrind.h, the GC side Python/valgrind_gc.c. */

#include "Python.h"
#include "pycore_freelist.h"      // _PyObject_ClearFreeLists()
#include "pycore_initconfig.h"    // _PyStatus_ERR()
#include "pycore_interp.h"        // PyInterpreterState.object_state
#include "pycore_lock.h"          // _PyOnceFlag_CallOnce()
#include "pycore_pystate.h"       // _PyEval_StopTheWorld()
#include "pycore_tstate.h"        // _PyThreadStateImpl
#include "pycore_valgrind.h"

#ifdef WITH_VALGRIND

#include <fcntl.h>                // open()
#include <unistd.h>               // read(), close()
#include <valgrind/valgrind.h>    // RUNNING_ON_VALGRIND


/* Set by _valgrind.set_test_tag(), read by each allocation in malloc mode
   (relaxed atomics: threads that a test starts are that test's too). */
int _PyValgrind_TestTag = 0;


/* --- which tool is running ------------------------------------------------

   Valgrind 3.27 names the tool and says whether it replaces malloc()
   (VALGRIND_GET_TOOLNAME, VALGRIND_REPLACES_MALLOC; Valgrind bug 514343).
   Older releases answer neither: there the request returns its default, 0,
   and the tool's name is read where Valgrind maps the tool's executable
   into the process, /usr/libexec/valgrind/memcheck-amd64-linux for
   instance: on Linux, in /proc/self/maps.  This runs at the first
   allocation: no stdio, no heap.

   The requests are defined here where an older valgrind.h lacks them; the
   codes are Valgrind's (0x1003, 0x1004), fixed by its ABI. */
#ifndef VALGRIND_REPLACES_MALLOC
#  define VALGRIND_REPLACES_MALLOC \
    (unsigned)VALGRIND_DO_CLIENT_REQUEST_EXPR(0, 0x1003, 0, 0, 0, 0, 0)
#endif
#ifndef VALGRIND_GET_TOOLNAME
#  define VALGRIND_GET_TOOLNAME(BUF, LEN) \
    (unsigned)VALGRIND_DO_CLIENT_REQUEST_EXPR(0, 0x1004, (char *)(BUF), \
                                              (LEN), 0, 0, 0)
#endif

/* If LINE (of /proc/self/maps) names a Valgrind tool executable, copy the
   tool's name ("memcheck") into NAME and return 1. */
static int
tool_from_maps_line(const char *line, char *name, size_t size)
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
    /* "<tool>-<arch>-linux": drop the last two dash-separated fields. */
    const char *end = base + len - 6;
    while (end > base && end[-1] != '-') {
        end--;
    }
    size_t tool_len = (size_t)(end - base);
    if (tool_len < 2 || tool_len > size) {
        return 0;
    }
    memcpy(name, base, tool_len - 1);
    name[tool_len - 1] = '\0';
    return 1;
}

/* Read the tool's name into NAME; return 0 if it cannot be told. */
static int
read_tool_name(char *name, size_t size)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    int found = 0;
    char line[512];
    size_t len = 0;
    char chunk[4096];
    ssize_t n;
    while (!found && (n = read(fd, chunk, sizeof(chunk))) > 0) {
        for (ssize_t i = 0; i < n && !found; i++) {
            if (chunk[i] != '\n') {
                if (len < sizeof(line) - 1) {
                    line[len++] = chunk[i];
                }
                continue;
            }
            line[len] = '\0';
            len = 0;
            found = tool_from_maps_line(line, name, size);
        }
    }
    close(fd);
    return found;
}


/* --- the decision ---------------------------------------------------------

   Taken once per process, by whichever thread allocates first: an embedder
   may start threads that allocate before Py_Initialize().  The once-flag
   makes the others wait for it; after it, reading the result is one atomic
   load.  Deciding has no side effect but the variables below. */

/* Which thread checker runs, if any (pycore_valgrind_sync.h): set with the
   mode, before any second thread exists; read by every annotated
   synchronisation.  PYTHONVALGRIND_SYNC=off leaves it at _PySync_NONE, to
   see what the checkers report without the annotations. */
int _PySync_Tool = -1;

static _PyOnceFlag decision_once;
static _PyValgrind_Mode decided_mode;
static char tool_name[32];
/* Where the tool's name came from: "request", "maps" or "none". */
static const char *tool_source;
/* VALGRIND_REPLACES_MALLOC's answer, or -1 where the request is unknown. */
static int tool_replaces_malloc = -1;

/* The tools that count instructions or basic blocks: they keep pymalloc, so
   that a profile shows the allocator production runs.  Every other tool,
   and a tool that cannot be told, gets malloc mode, as every tool did with
   CPython's original --with-valgrind: a heap-tracking tool that saw
   pymalloc's arenas as a few big blocks would silently check nothing. */
static const char * const pymalloc_tools[] = {
    "callgrind", "cachegrind", "lackey", "none", "exp-bbv", NULL,
};

/* The tools that track heap blocks but check no leaks: under them no
   object is announced, nothing is kept reachable.  A tool that cannot be
   told, or whose name is not known here, may be Memcheck renamed: it is
   treated as Memcheck. */
static const char * const leakless_tools[] = {
    "helgrind", "drd", "massif", "dhat", NULL,
};

static int
is_one_of(const char *tool, const char * const *tools)
{
    for (int i = 0; tools[i] != NULL; i++) {
        if (strcmp(tool, tools[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static int
parse_mode(const char *value, _PyValgrind_Mode *mode)
{
    static const struct { const char *name; _PyValgrind_Mode mode; } names[] = {
        {"auto", _PyValgrind_UNDECIDED},    /* the tool decides */
        {"malloc", _PyValgrind_MALLOC},
        {"pymalloc", _PyValgrind_PYMALLOC},
        {"pool", _PyValgrind_POOL},
    };
    if (value == NULL || value[0] == '\0') {
        *mode = _PyValgrind_UNDECIDED;
        return 0;
    }
    for (size_t i = 0; i < Py_ARRAY_LENGTH(names); i++) {
        if (strcmp(value, names[i].name) == 0) {
            *mode = names[i].mode;
            return 0;
        }
    }
    return -1;
}

/* Where Valgrind says whether the tool replaces malloc(), that decides:
   routing to a malloc() that the tool does not see would gain nothing.
   Elsewhere the list above does (the two agree for every tool that
   Valgrind ships). */
static _PyValgrind_Mode
default_mode(const char *tool)
{
    if (tool_replaces_malloc >= 0) {
        return (tool_replaces_malloc ? _PyValgrind_MALLOC
                                     : _PyValgrind_PYMALLOC);
    }
    return (is_one_of(tool, pymalloc_tools) ? _PyValgrind_PYMALLOC
                                            : _PyValgrind_MALLOC);
}

/* Ask Valgrind first, then read the maps.  Not under DHAT: before 3.24 it
   prints a warning for every request it does not know, and the maps have
   named it already. */
static void
find_tool(void)
{
    char mapped[sizeof(tool_name)];
    int in_maps = read_tool_name(mapped, sizeof(mapped));
    if (!(in_maps && strcmp(mapped, "dhat") == 0)) {
        unsigned needed = VALGRIND_GET_TOOLNAME(tool_name, sizeof(tool_name));
        if (needed > 0 && needed <= sizeof(tool_name)) {
            tool_source = "request";
            tool_replaces_malloc = VALGRIND_REPLACES_MALLOC ? 1 : 0;
            return;
        }
    }
    if (in_maps) {
        strcpy(tool_name, mapped);
        tool_source = "maps";
    }
    else {
        strcpy(tool_name, "unknown");
        tool_source = "none";
    }
}

/* PYTHONVALGRIND is read here, at the first allocation, before the command
   line is parsed: -E and -I do not hide it.  A bad value counts as "auto"
   here, and _PyValgrind_CheckEnv() stops the startup with an error. */
static int
decide(void *Py_UNUSED(arg))
{
    _PySync_Tool = _PySync_NONE;
    if (!RUNNING_ON_VALGRIND) {
        decided_mode = _PyValgrind_NATIVE;
        return 0;
    }
    find_tool();
    _PyValgrind_Mode mode;
    if (parse_mode(getenv("PYTHONVALGRIND"), &mode) < 0
        || mode == _PyValgrind_UNDECIDED)
    {
        mode = default_mode(tool_name);
    }
    /* Pool mode speaks to Memcheck only: other tools would ignore its
       requests at best (DHAT warns about each), so the tool's default
       applies, as for "auto". */
    if (mode == _PyValgrind_POOL && strcmp(tool_name, "memcheck") != 0) {
        mode = default_mode(tool_name);
    }
#ifdef Py_GIL_DISABLED
    /* The free-threaded build cannot hand objects to malloc(): its GC finds
       them in mimalloc's heaps.  Under Memcheck, mimalloc's blocks are
       announced instead (pool mode); other tools see mimalloc as it runs
       ("pymalloc": the small-object allocator kept). */
    if (mode == _PyValgrind_MALLOC) {
        mode = strcmp(tool_name, "memcheck") == 0 ? _PyValgrind_POOL
                                                  : _PyValgrind_PYMALLOC;
    }
#endif
    const char *sync = getenv("PYTHONVALGRIND_SYNC");
    if (sync == NULL || strcmp(sync, "off") != 0) {
        _PySync_Tool = (strcmp(tool_name, "helgrind") == 0 ? _PySync_HELGRIND
                        : strcmp(tool_name, "drd") == 0 ? _PySync_DRD
                        : _PySync_NONE);
    }
    decided_mode = mode;
    return 0;
}

_PyValgrind_Mode
_PyValgrind_GetMode(void)
{
    (void)_PyOnceFlag_CallOnce(&decision_once, decide, NULL);
    return decided_mode;
}

/* The synchronisation events' requests (pycore_valgrind_sync.h), out of
   line; called only once a thread checker is known to run. */

/* Set when the runtime creates a second thread state, never reset: until
   then one thread runs Python code and the orderings need not be told
   (pycore_valgrind_sync.h).  Set by the only thread that runs Python code,
   or by a foreign thread that then stops the world; read relaxed. */
static int sync_second_thread_state;

static inline int
sync_many_threads(void)
{
    return _Py_atomic_load_int_relaxed(&sync_second_thread_state);
}

void
_PySync_SecondThreadStateSlow(void)
{
    _Py_atomic_store_int(&sync_second_thread_state, 1);
}

void
_PySync_ForeignThreadAttachedSlow(PyThreadState *tstate)
{
#ifdef Py_GIL_DISABLED
    /* Each other thread parks (or is parked, detached) and is told to
       happen before this one (pystate.c's stop-the-world events). */
    _PyEval_StopTheWorld(tstate->interp);
    _PyEval_StartTheWorld(tstate->interp);
#else
    /* The GIL is a pthread mutex: the checkers see its hand-offs. */
    (void)tstate;
#endif
}

void
_PySync_ThreadDetachingSlow(const void *addr)
{
    _PySync_RequestHappensBefore(addr);
}

void
_PySync_SemaphoreDestroyedSlow(const void *addr, size_t size)
{
    _PySync_RequestNewMemory(addr, size);
}

void
_PySync_HappensBeforeSlow(const void *addr)
{
    if (sync_many_threads()) {
        _PySync_RequestHappensBefore(addr);
    }
}

void
_PySync_HappensAfterSlow(const void *addr)
{
    if (sync_many_threads()) {
        _PySync_RequestHappensAfter(addr);
    }
}

void
_PySync_HappensAfterLastSlow(const void *addr)
{
    if (sync_many_threads()) {
        _PySync_RequestHappensAfter(addr);
        _PySync_RequestForget(addr);
    }
}

/* Until a second thread exists, one thread has touched the memory: nothing
   to forget. */
void
_PySync_NewMemorySlow(const void *addr, size_t size)
{
    if (sync_many_threads()) {
        _PySync_RequestNewMemory(addr, size);
    }
}

void
_PySync_BenignRaceSlow(const void *addr, size_t size)
{
    (void)_PyValgrind_GetMode();
    if (_PySync_Tool > 0) {
        _PySync_RequestBenignRace(addr, size);
    }
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
    return tool_name[0] != '\0' ? tool_name : NULL;
}

const char *
_PyValgrind_GetToolSource(void)
{
    (void)_PyValgrind_GetMode();
    return tool_source;
}

int
_PyValgrind_RunningMemcheck(void)
{
    const char *tool = _PyValgrind_GetToolName();
    return tool != NULL && strcmp(tool, "memcheck") == 0;
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


/* --- Memcheck silent on correct code -------------------------------------- */

/* The hooks below act only in malloc and pool modes.  Natively each
   returns at once; none is on a hot path. */
int
_PyValgrind_EachBlockTracked(void)
{
    _PyValgrind_Mode mode = _PyValgrind_GetMode();
    return mode == _PyValgrind_MALLOC || mode == _PyValgrind_POOL;
}

int
_PyValgrind_ChecksLeaks(void)
{
    const char *tool = _PyValgrind_GetToolName();
    return (_PyValgrind_EachBlockTracked() && tool != NULL
            && !is_one_of(tool, leakless_tools)
            && !is_one_of(tool, pymalloc_tools));
}

/* Blocks kept until exit on purpose, each held by a start pointer.
   Interpreters that have their own GIL are finalised concurrently, so the
   table has a lock of its own. */
static struct {
    PyMutex mutex;
    void **blocks;
    size_t count;
    size_t capacity;
} kept_reachable;

void
_PyValgrind_KeepReachable(void *block)
{
    if (!_PyValgrind_ChecksLeaks()) {
        return;
    }
    PyMutex_Lock(&kept_reachable.mutex);
    if (kept_reachable.count == kept_reachable.capacity) {
        size_t capacity = kept_reachable.capacity
                          ? 2 * kept_reachable.capacity : 1024;
        void **blocks = realloc(kept_reachable.blocks,
                                capacity * sizeof(void *));
        if (blocks == NULL) {
            /* The block is reported as lost: noise, not a failure. */
            PyMutex_Unlock(&kept_reachable.mutex);
            return;
        }
        kept_reachable.blocks = blocks;
        kept_reachable.capacity = capacity;
    }
    kept_reachable.blocks[kept_reachable.count++] = block;
    PyMutex_Unlock(&kept_reachable.mutex);
}

void
_PyValgrind_InitFreeLists(PyInterpreterState *interp)
{
#ifndef Py_GIL_DISABLED
    if (_PyValgrind_EachBlockTracked()) {
        _PyObject_ClearFreeLists(&interp->object_state.freelists, 1);
    }
#endif
}

void
_PyValgrind_InitThreadFreeLists(PyThreadState *tstate)
{
#ifdef Py_GIL_DISABLED
    if (_PyValgrind_EachBlockTracked()) {
        _PyObject_ClearFreeLists(&((_PyThreadStateImpl *)tstate)->freelists, 1);
    }
#else
    (void)tstate;
#endif
}

#endif  /* WITH_VALGRIND */
