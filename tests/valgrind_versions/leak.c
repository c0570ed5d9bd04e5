/* One loss record of each leak kind, and a leak search in the middle of the
   run as python -m memcheck makes them, to compare the XML that Memcheck
   versions write (tests/valgrind_versions/leak-VERSION.xml):

     gcc -g -O0 -o leak leak.c
     valgrind --xml=yes --xml-file=leak-VERSION.xml --leak-check=full \
         --show-leak-kinds=all ./leak

   (without -q: with it, Valgrind 3.27 writes no <leak_summary>.) */
#include <stdlib.h>
#include <valgrind/memcheck.h>

struct node { struct node *next; char payload[8]; };

static void *still_reachable;
static char *interior;

static void leak_definite(void)
{
    if (malloc(16) == NULL)               /* 16 bytes definitely lost */
        abort();
}

static void leak_indirect(void)
{
    struct node *head = malloc(sizeof *head);   /* definitely lost ... */
    head->next = malloc(sizeof *head->next);    /* ... and indirectly lost */
    head->next->next = NULL;
}

static void leak_possible(void)
{
    interior = (char *)malloc(32) + 8;    /* possibly lost: interior pointer */
}

static void keep_reachable(void)
{
    still_reachable = malloc(64);         /* still reachable */
}

int main(void)
{
    leak_definite();
    VALGRIND_DO_ADDED_LEAK_CHECK;         /* a search in the middle of the run */
    leak_indirect();
    leak_possible();
    keep_reachable();
    return 0;
}
