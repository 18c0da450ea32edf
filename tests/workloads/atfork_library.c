// A library whose constructor registers fork handlers that allocate every
// size range, as a library loaded before the allocator would: a DT_NEEDED
// library's constructor runs before a preloaded library's, and every
// library's before a program's own (where the drop-in is linked in).
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int calls;

// Small, medium, large and very large: every heap's lock.
static void allocate_every_size(void) {
  static const size_t sizes[] = {16, 4096, 100000, 1 << 20, 16 << 20};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); ++i) {
    char* block = malloc(sizes[i]);
    if (block == NULL) abort();
    memset(block, 1, sizes[i] < 64 ? sizes[i] : 64);
    free(block);
  }
}

static void prepare(void) { allocate_every_size(); }
static void parent(void) {
  allocate_every_size();
  ++calls;
}
static void child(void) { allocate_every_size(); }

__attribute__((constructor)) static void register_handlers(void) {
  pthread_atfork(prepare, parent, child);
}

// Forks whose parent handler ran.
int atfork_library_calls(void) { return calls; }
