/* Many threads ask for the Valgrind mode at once, before anything else in
   the process has: the decision must be taken once and every thread must
   see the same one.  Linked with libpython; prints "MODE TOOL" once per
   thread, then the mode once more after Python is initialised with the
   module search path given as arguments (the build's Lib). */

#include <pthread.h>
#include <stdio.h>

#include "Python.h"

/* Internal (pycore_valgrind.h); declared here to stay out of Py_BUILD_CORE. */
extern int _PyValgrind_GetMode(void);
extern const char *_PyValgrind_ModeName(int mode);
extern const char *_PyValgrind_GetToolName(void);

#define NTHREADS 8

static pthread_barrier_t start;
static int modes[NTHREADS];
static const char *tools[NTHREADS];

static void *
ask(void *arg)
{
    int i = (int)(intptr_t)arg;
    pthread_barrier_wait(&start);
    modes[i] = _PyValgrind_GetMode();
    tools[i] = _PyValgrind_GetToolName();
    return NULL;
}

static int
initialize(int argc, char **argv)
{
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    config.site_import = 0;
    config.module_search_paths_set = 1;
    for (int i = 1; i < argc; i++) {
        wchar_t *path = Py_DecodeLocale(argv[i], NULL);
        if (path == NULL
            || PyStatus_Exception(PyWideStringList_Append(
                   &config.module_search_paths, path)))
        {
            return -1;
        }
        PyMem_RawFree(path);
    }
    PyStatus status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    return PyStatus_Exception(status) ? -1 : 0;
}

int
main(int argc, char **argv)
{
    pthread_t threads[NTHREADS];
    pthread_barrier_init(&start, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++) {
        if (pthread_create(&threads[i], NULL, ask, (void *)(intptr_t)i) != 0) {
            perror("pthread_create");
            return 2;
        }
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    for (int i = 0; i < NTHREADS; i++) {
        printf("%s %s\n", _PyValgrind_ModeName(modes[i]),
               tools[i] ? tools[i] : "-");
    }
    /* The allocator installed at the first allocation agrees. */
    fflush(stdout);
    if (initialize(argc, argv) < 0) {
        fprintf(stderr, "cannot initialise Python\n");
        return 1;
    }
    PyRun_SimpleString("import _valgrind; print('python', _valgrind.mode())");
    return Py_FinalizeEx() < 0 ? 1 : 0;
}
