/* arena_roots: why pool mode takes pymalloc's arenas from malloc().

   An allocator that announces its blocks to Memcheck (MALLOCLIKE_BLOCK)
   builds a leaked structure inside its arena: a block that points to a
   second block, and nothing that points to the first.  Run with "mmap" the
   arena is mapped memory, which Memcheck's leak search scans as a root: the
   second block is found from there and reads "still reachable", and only
   the first is reported.  Run with "malloc" the arena is a heap block; a
   heap block holding announced blocks is left out of the search, and the
   structure is reported whole: the first block definitely lost, the second
   indirectly lost.  tests/test_pool_mode.py runs both. */

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <valgrind/memcheck.h>

#define ARENA_SIZE (1 << 20)

struct node {
    struct node *next;
    char payload[24];
};

/* Where the allocator keeps its arena, as pymalloc's arena table does. */
static char *arena;

static __attribute__((noinline)) struct node *
announce(size_t offset)
{
    struct node *node = (struct node *)(arena + offset);
    VALGRIND_MALLOCLIKE_BLOCK(node, sizeof(*node), 0, 0);
    memset(node, 0, sizeof(*node));
    return node;
}

static __attribute__((noinline)) void
leak_two_linked_blocks(void)
{
    struct node *first = announce(64);
    first->next = announce(128);
}

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "mmap") == 0) {
        arena = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (arena == MAP_FAILED) {
            return 2;
        }
    }
    else {
        arena = malloc(ARENA_SIZE);
        if (arena == NULL) {
            return 2;
        }
    }
    VALGRIND_MAKE_MEM_NOACCESS(arena, ARENA_SIZE);
    leak_two_linked_blocks();
    return 0;
}
