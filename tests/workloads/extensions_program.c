// glibc's malloc extensions and the runtime options, driven one scenario at
// a time (argv[1]) for malloc_extensions_test.sh, which runs it with
// librusty_malloc.so preloaded and linked with //allocator:malloc. Each
// scenario checks what it can itself and exits 1 with a line on failure;
// what lands on stderr (reports, warnings, statistics) the script checks.
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CHECK(cond)                                           \
  do {                                                        \
    if (!(cond)) {                                            \
      fprintf(stderr, "FAIL line %d: %s\n", __LINE__, #cond); \
      exit(1);                                                \
    }                                                         \
  } while (0)

enum { kBlocks = 1000, kBlockBytes = 1000 };

static void** AllocateBlocks(void) {
  void** blocks = malloc(kBlocks * sizeof(void*));
  for (int i = 0; i < kBlocks; ++i) {
    blocks[i] = malloc(kBlockBytes);
    memset(blocks[i], i, kBlockBytes);
  }
  return blocks;
}

static void FreeBlocks(void** blocks) {
  for (int i = 0; i < kBlocks; ++i) free(blocks[i]);
  free(blocks);
}

// This heap's figures, not glibc's arena (which holds nothing here), and
// mallinfo's int fields saturated, not wrapped, past 2 GiB.
static int Mallinfo(void) {
  void** blocks = AllocateBlocks();
  const struct mallinfo2 full = mallinfo2();
  CHECK(full.uordblks >= (size_t)kBlocks * kBlockBytes);
  CHECK(full.uordblks + full.fordblks <= full.arena);
  FreeBlocks(blocks);
  const struct mallinfo2 empty = mallinfo2();
  CHECK(full.uordblks - empty.uordblks >= (size_t)kBlocks * kBlockBytes);

  const size_t huge = (size_t)3 << 30;  // Never touched: no memory used.
  void* p = malloc(huge);
  CHECK(p != NULL);
  const struct mallinfo2 wide = mallinfo2();
#pragma GCC diagnostic push
  // mallinfo is deprecated in glibc's header; it is still called, and
  // answered here.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  const struct mallinfo narrow = mallinfo();
#pragma GCC diagnostic pop
  CHECK(wide.uordblks >= huge);
  CHECK(narrow.uordblks == INT_MAX);
  CHECK(narrow.arena == INT_MAX);
  free(p);
  puts("mallinfo ok");
  return 0;
}

// With `first_only`, a second call may release again (the locked heaps).
static int Trim(int first_only) {
  enum { kPages = 16384 };
  void** pages = malloc(kPages * sizeof(void*));
  for (int i = 0; i < kPages; ++i) {
    pages[i] = malloc(4096);
    memset(pages[i], 1, 4096);
  }
  for (int i = 0; i < kPages; ++i) free(pages[i]);
  free(pages);
  const int first = malloc_trim(0);
  const int second = malloc_trim(0);
  CHECK(first == 1);  // 64 MiB of freed pages went back.
  // The per-thread heap knows what it gave back already; the locked ones
  // decommit their free pages again (see docs/reference.md).
  if (!first_only) CHECK(second == 0);
  puts("malloc_trim ok");
  return 0;
}

static int Stats(void) {
  void** blocks = AllocateBlocks();
  malloc_stats();
  FreeBlocks(blocks);
  return 0;
}

static int Info(void) {
  void** blocks = AllocateBlocks();
  CHECK(malloc_info(0, stdout) == 0);
  errno = 0;
  CHECK(malloc_info(1, stdout) == EINVAL && errno == 0);
  FreeBlocks(blocks);
  return 0;
}

// Whether the freed mapping of a large block is still kept for reuse:
// frees one 8 MiB block, waits `sleep_ms`, then frees a 16 MiB one, which
// is when the large-block cache expires what it kept too long. Nothing is
// mapped between the frees and the look, so the address can't be reused.
static const char* LargeBlockFate(long sleep_ms) {
  const size_t kPage = 4096;
  char* big = malloc((size_t)16 << 20);
  char* block = malloc((size_t)8 << 20);
  CHECK(big != NULL && block != NULL);
  memset(big, 1, (size_t)16 << 20);
  memset(block, 1, (size_t)8 << 20);
  // Only looked at, never used, after the free.
  volatile uintptr_t where = (uintptr_t)block;
  free(block);
  const struct timespec wait = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000};
  nanosleep(&wait, NULL);
  free(big);
  unsigned char resident;
  return mincore((void*)where, kPage, &resident) == 0 ? "kept" : "returned";
}

static int Mallopt(void) {
  CHECK(mallopt(M_ARENA_MAX, 2) == 0);
  CHECK(mallopt(M_MMAP_THRESHOLD, 1 << 20) == 0);
  CHECK(mallopt(M_CHECK_ACTION, 3) == 1);
  CHECK(mallopt(M_CHECK_ACTION, 0) == 0);
  CHECK(mallopt(12345, 1) == 0);
  CHECK(strcmp(LargeBlockFate(0), "kept") == 0);
  CHECK(mallopt(M_TRIM_THRESHOLD, 0) == 1);
  CHECK(strcmp(LargeBlockFate(0), "returned") == 0);
  CHECK(mallopt(M_TRIM_THRESHOLD, -1) == 1);  // glibc's "no threshold".
  CHECK(strcmp(LargeBlockFate(0), "kept") == 0);
  puts("mallopt ok");
  return 0;
}

static int Failures(void) {
  // Hidden from the compiler, which would warn about the sizes.
  volatile size_t huge = (size_t)1 << 62, half = SIZE_MAX / 2, odd = 3;
  errno = 0;
  CHECK(malloc(huge) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(aligned_alloc(odd, 16) == NULL && errno == EINVAL);
  errno = 0;
  CHECK(calloc(half, 4) == NULL && errno == ENOMEM);
  return 0;
}

static int DoubleFree(void) {
  char* volatile p = malloc(32);
  free(p);
  free(p);
  return 0;  // Not reached: the second free aborts.
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* scenario = argv[1];
  if (strcmp(scenario, "mallinfo") == 0) return Mallinfo();
  if (strcmp(scenario, "trim") == 0) return Trim(0);
  if (strcmp(scenario, "trim-once") == 0) return Trim(1);
  if (strcmp(scenario, "stats") == 0) return Stats();
  if (strcmp(scenario, "info") == 0) return Info();
  if (strcmp(scenario, "mallopt") == 0) return Mallopt();
  if (strcmp(scenario, "failures") == 0) return Failures();
  if (strcmp(scenario, "double-free") == 0) return DoubleFree();
  if (strcmp(scenario, "large-block") == 0) {
    puts(LargeBlockFate(argc > 2 ? atol(argv[2]) : 0));
    return 0;
  }
  if (strcmp(scenario, "idle") == 0) {
    FreeBlocks(AllocateBlocks());
    return 0;
  }
  return 2;
}
