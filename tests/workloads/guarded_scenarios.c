// guarded_program's scenarios with no bug planted: guarded blocks must
// behave as any other through every allocation function, when the pool
// runs out, across threads and fork, and through malloc_trim. Each prints
// "<scenario> ok" and returns 0, or fails the program (guarded_program.h).
//
//   realloc       a guarded 100-byte block grown to 1000 (into the pool
//                 again), to 100000 (out of it), shrunk to 300, 40, grown
//                 to 4096 and 5000: the contents kept every time, the old
//                 guarded block freed (its page inaccessible)
//   usable-size   malloc_usable_size of a guarded block is its size
//   calloc        200 calloc'd guarded blocks, slots reused, all zero
//   aligned       posix_memalign 64/256/4096, aligned_alloc, memalign:
//                 guarded, aligned, of their size
//   exhaustion    (4 slots) 1000 blocks: all allocated and writable, at
//                 most 4 guarded; once freed, the slots serve again
//   threads       8 threads x 10000 blocks, some freed by other threads
//   fork          a guarded block freed by the child; the parent's intact
//   fork-threads  forks while two threads allocate: no child deadlocks
//                 (a child that does dies of its alarm, which is reported)
//   trim          malloc_trim(0) with guarded blocks live and freed
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/workloads/guarded_program.h"

// A guarded block of `size` bytes, freed: its size class's front list is
// then empty, so the next allocation of that class reaches the slow path
// (and, with every allocation sampled, the pool).
static void EmptyClassOf(size_t size) { free(MallocGuarded(size)); }

static void ExpectGuarded(const void* p, size_t size, const char* what) {
  if (!IsGuarded(p)) Fail("%s: %p is not guarded", what, p);
  const size_t usable = malloc_usable_size((void*)p);
  if (usable != size) {
    Fail("%s: malloc_usable_size is %zu, want %zu", what, usable, size);
  }
}

// The page of a guarded block freed is inaccessible. The block's address,
// taken before the free: a pointer used after it is what compilers warn of.
static void ExpectFreedGuarded(uintptr_t address, const char* what) {
  if (IsReadable((const void*)address)) {
    Fail("%s: the freed guarded block is readable", what);
  }
}

int ReallocScenario(void) {
  EmptyClassOf(1000);
  EmptyClassOf(300);
  EmptyClassOf(40);
  EmptyClassOf(4096);
  char* p = MallocGuarded(100);
  ExpectGuarded(p, 100, "malloc(100)");
  FillPattern(p, 100, 1);
  const uintptr_t old_p = (uintptr_t)p;
  char* grown = realloc(p, 1000);
  if (grown == NULL) Fail("realloc to 1000 failed");
  CheckPattern(grown, 100, 1, "100 -> 1000");
  ExpectGuarded(grown, 1000, "100 -> 1000");
  ExpectFreedGuarded(old_p, "100 -> 1000");
  FillPattern(grown, 1000, 2);
  const uintptr_t old_grown = (uintptr_t)grown;
  char* large = realloc(grown, 100000);
  if (large == NULL) Fail("realloc to 100000 failed");
  CheckPattern(large, 1000, 2, "1000 -> 100000");
  if (IsGuarded(large)) Fail("a 100000-byte block is guarded");
  if (malloc_usable_size(large) < 100000) Fail("100000: usable too small");
  ExpectFreedGuarded(old_grown, "1000 -> 100000");
  FillPattern(large, 100000, 3);
  char* back = realloc(large, 300);
  if (back == NULL) Fail("realloc to 300 failed");
  CheckPattern(back, 300, 3, "100000 -> 300");
  ExpectGuarded(back, 300, "100000 -> 300");
  const uintptr_t old_back = (uintptr_t)back;
  char* shrunk = realloc(back, 40);
  if (shrunk == NULL) Fail("realloc to 40 failed");
  CheckPattern(shrunk, 40, 3, "300 -> 40");
  ExpectGuarded(shrunk, 40, "300 -> 40");
  ExpectFreedGuarded(old_back, "300 -> 40");
  char* page = realloc(shrunk, 4096);
  if (page == NULL) Fail("realloc to 4096 failed");
  CheckPattern(page, 40, 3, "40 -> 4096");
  ExpectGuarded(page, 4096, "40 -> 4096");
  FillPattern(page, 4096, 4);
  const uintptr_t old_page = (uintptr_t)page;
  char* over = realloc(page, 5000);  // Over a page: never guarded.
  if (over == NULL) Fail("realloc to 5000 failed");
  CheckPattern(over, 4096, 4, "4096 -> 5000");
  ExpectFreedGuarded(old_page, "4096 -> 5000");
  free(over);
  printf("realloc ok\n");
  return 0;
}

int UsableSizeScenario(void) {
  static const size_t kSizes[] = {1, 8, 37, 64, 100, 1000, 4095, 4096};
  for (size_t i = 0; i < sizeof(kSizes) / sizeof(kSizes[0]); ++i) {
    char* p = MallocGuarded(kSizes[i]);
    ExpectGuarded(p, kSizes[i], "malloc");
    FillPattern(p, kSizes[i], (unsigned)i);
    CheckPattern(p, kSizes[i], (unsigned)i, "usable bytes");
    free(p);
  }
  char* over = malloc(4097);
  if (over == NULL || malloc_usable_size(over) < 4097) Fail("malloc(4097)");
  free(over);
  printf("usable-size ok\n");
  return 0;
}

int CallocScenario(void) {
  int guarded = 0;
  for (int round = 0; round < 200; ++round) {
    const size_t count = 1 + (size_t)round % 7;
    const size_t size = 1 + ((size_t)round * 97) % (4096 / count);
    // Until guarded, as MallocGuarded; every block must be zero.
    unsigned char* p = NULL;
    for (int tries = 0; tries < 100000; ++tries) {
      p = calloc(count, size);
      if (p == NULL) Fail("calloc(%zu, %zu) failed", count, size);
      for (size_t i = 0; i < count * size; ++i) {
        if (p[i] != 0)
          Fail("calloc(%zu, %zu): byte %zu is not 0", count, size, i);
      }
      if (IsGuarded(p)) break;
    }
    ExpectGuarded(p, count * size, "calloc");
    ++guarded;
    memset(p, 0xff, count * size);  // For the slot's next block.
    free(p);
  }
  printf("calloc ok (%d guarded)\n", guarded);
  return 0;
}

enum AlignedHow { kPosixMemalign, kAlignedAlloc, kMemalign };

static void* AllocateAligned(enum AlignedHow how, size_t align, size_t size) {
  void* p = NULL;
  switch (how) {
    case kPosixMemalign:
      if (posix_memalign(&p, align, size) != 0) p = NULL;
      break;
    case kAlignedAlloc:
      p = aligned_alloc(align, size);
      break;
    case kMemalign:
      p = memalign(align, size);
      break;
  }
  if (p == NULL)
    Fail("aligned allocation %d of %zu, %zu failed", how, align, size);
  if ((uintptr_t)p % align != 0) Fail("%p is not aligned to %zu", p, align);
  return p;
}

int AlignedScenario(void) {
  static const struct {
    enum AlignedHow how;
    size_t align, size;
  } kCases[] = {
      {kPosixMemalign, 64, 100},    {kPosixMemalign, 256, 300},
      {kPosixMemalign, 4096, 1000}, {kPosixMemalign, 64, 4096},
      {kAlignedAlloc, 512, 512},    {kMemalign, 1024, 200},
  };
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); ++i) {
    void* p = NULL;
    for (int tries = 0; tries < 100000 && p == NULL; ++tries) {
      p = AllocateAligned(kCases[i].how, kCases[i].align, kCases[i].size);
      if (!IsGuarded(p)) p = NULL;  // Kept: its list runs out.
    }
    if (p == NULL) Fail("no guarded block aligned to %zu", kCases[i].align);
    ExpectGuarded(p, kCases[i].size, "aligned");
    FillPattern(p, kCases[i].size, (unsigned)i);
    CheckPattern(p, kCases[i].size, (unsigned)i, "aligned");
    free(p);
  }
  printf("aligned ok\n");
  return 0;
}

enum { kExhaustionBlocks = 1000 };

int ExhaustionScenario(void) {
  static char* blocks[kExhaustionBlocks];
  int guarded = 0;
  for (int i = 0; i < kExhaustionBlocks; ++i) {
    const size_t size = 16 + ((size_t)i * 37) % 4000;
    blocks[i] = malloc(size);
    if (blocks[i] == NULL) Fail("malloc(%zu) failed at block %d", size, i);
    FillPattern(blocks[i], size, (unsigned)i);
    guarded += IsGuarded(blocks[i]);
  }
  for (int i = 0; i < kExhaustionBlocks; ++i) {
    CheckPattern(blocks[i], 16 + ((size_t)i * 37) % 4000, (unsigned)i,
                 "exhaustion");
    free(blocks[i]);
  }
  if (guarded < 1 || guarded > 4)
    Fail("%d blocks guarded with 4 slots", guarded);
  // Freed, the slots serve again.
  for (int i = 0; i < 16; ++i) free(MallocGuarded(64));
  printf("exhaustion ok (%d of %d guarded)\n", guarded, kExhaustionBlocks);
  return 0;
}

// ---- threads -------------------------------------------------------------

enum { kThreads = 8, kPerThread = 10000, kRing = 16, kShared = 64 };

static void* shared_blocks[kShared];  // Swapped with __atomic_exchange_n.
static int guarded_seen;              // Added to atomically.

// A block of at least 8 bytes whose first two words say its size and seed,
// the rest the pattern: any thread can check and free it.
static void* NewBlock(size_t size, unsigned seed) {
  uint32_t* p = malloc(size);
  if (p == NULL) Fail("malloc(%zu) failed", size);
  p[0] = (uint32_t)size;
  p[1] = seed;
  FillPattern(p + 2, size - 8, seed);
  return p;
}

static void CheckAndFree(void* block) {
  if (block == NULL) return;
  const uint32_t* p = block;
  CheckPattern(p + 2, p[0] - 8, p[1], "threads");
  free(block);
}

static uint64_t NextRandom(uint64_t* state) {
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  return *state;
}

static void* ThreadMain(void* arg) {
  const unsigned id = (unsigned)(uintptr_t)arg;
  uint64_t state = id * 0x9E3779B97F4A7C15u + 1;
  void* ring[kRing] = {0};
  int guarded = 0;
  for (unsigned i = 0; i < kPerThread; ++i) {
    const uint64_t r = NextRandom(&state);
    // Mostly sizes the pool takes, one in eight over a page.
    const size_t size = 8 + (r % 8 == 0 ? 4097 + r % 16000 : r % 4089);
    void* block = NewBlock(size, id * kPerThread + i);
    guarded += IsGuarded(block);
    if (r % 16 == 1) {
      // Another thread may free it.
      block = __atomic_exchange_n(&shared_blocks[(r >> 8) % kShared], block,
                                  __ATOMIC_ACQ_REL);
    }
    CheckAndFree(ring[i % kRing]);
    ring[i % kRing] = block;
  }
  for (int i = 0; i < kRing; ++i) CheckAndFree(ring[i]);
  __atomic_add_fetch(&guarded_seen, guarded, __ATOMIC_RELAXED);
  return NULL;
}

int ThreadsScenario(void) {
  pthread_t threads[kThreads];
  for (int i = 0; i < kThreads; ++i) {
    if (pthread_create(&threads[i], NULL, ThreadMain, (void*)(uintptr_t)i)) {
      Fail("pthread_create failed");
    }
  }
  for (int i = 0; i < kThreads; ++i) pthread_join(threads[i], NULL);
  for (int i = 0; i < kShared; ++i) CheckAndFree(shared_blocks[i]);
  if (guarded_seen == 0) Fail("no block was guarded");
  printf("threads ok (%d guarded)\n", guarded_seen);
  return 0;
}

// ---- fork ----------------------------------------------------------------

// Waits for `child`; fails unless it exited 0.
static void ExpectChildOk(pid_t child, const char* what) {
  int status = 0;
  if (waitpid(child, &status, 0) != child) Fail("%s: waitpid failed", what);
  if (WIFSIGNALED(status)) {
    Fail("%s: child killed by signal %d%s", what, WTERMSIG(status),
         WTERMSIG(status) == SIGALRM ? " (its alarm: deadlocked)" : "");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Fail("%s: child exited %d", what, WEXITSTATUS(status));
  }
}

int ForkScenario(void) {
  char* p = MallocGuarded(200);
  FillPattern(p, 200, 9);
  fflush(stdout);
  const pid_t child = fork();
  if (child < 0) Fail("fork failed");
  if (child == 0) {
    alarm(10);
    CheckPattern(p, 200, 9, "child's copy");
    const uintptr_t freed = (uintptr_t)p;
    free(p);
    ExpectFreedGuarded(freed, "child");
    // More than the pool's slots, each freed: slots reused in the child.
    for (int i = 0; i < 100; ++i) {
      char* q = MallocGuarded(64 + (size_t)i);
      FillPattern(q, 64 + (size_t)i, (unsigned)i);
      CheckPattern(q, 64 + (size_t)i, (unsigned)i, "child's block");
      free(q);
    }
    _exit(0);
  }
  ExpectChildOk(child, "fork");
  ExpectGuarded(p, 200, "parent's block after the child freed it");
  CheckPattern(p, 200, 9, "parent's block");
  free(p);
  printf("fork ok\n");
  return 0;
}

static int stop_churn;  // Read and written atomically.

static void* Churn(void* arg) {
  uint64_t state = (uintptr_t)arg * 0x9E3779B97F4A7C15u + 7;
  while (!__atomic_load_n(&stop_churn, __ATOMIC_RELAXED)) {
    const uint64_t r = NextRandom(&state);
    const size_t size = 1 + r % (r % 4 == 0 ? 100000 : 4096);
    char* block = malloc(size);
    if (block == NULL) Fail("malloc failed");
    block[0] = 1;
    char* grown = realloc(block, size + r % 8192);
    if (grown == NULL) Fail("realloc failed");
    free(grown);
  }
  return NULL;
}

enum { kForks = 30 };

int ForkThreadsScenario(void) {
  pthread_t threads[2];
  for (int i = 0; i < 2; ++i) {
    if (pthread_create(&threads[i], NULL, Churn, (void*)(uintptr_t)(i + 1))) {
      Fail("pthread_create failed");
    }
  }
  fflush(stdout);
  for (int i = 0; i < kForks; ++i) {
    const pid_t child = fork();
    if (child < 0) Fail("fork failed");
    if (child == 0) {
      alarm(10);
      for (size_t size = 16; size <= ((size_t)1 << 20); size *= 4) {
        char* block = malloc(size);
        if (block == NULL) _exit(2);
        memset(block, 1, size < 4096 ? size : 4096);
        free(block);
      }
      char* guarded = MallocGuarded(64);
      memset(guarded, 2, 64);
      free(guarded);
      _exit(0);
    }
    ExpectChildOk(child, "fork-threads");
  }
  __atomic_store_n(&stop_churn, 1, __ATOMIC_RELAXED);
  for (int i = 0; i < 2; ++i) pthread_join(threads[i], NULL);
  printf("fork-threads ok\n");
  return 0;
}

// ---- trim ----------------------------------------------------------------

enum { kTrimGuarded = 32, kTrimLarge = 8, kTrimSmall = 1000 };

int TrimScenario(void) {
  char* guarded[kTrimGuarded];
  char* large[kTrimLarge];
  char* small[kTrimSmall];
  for (int i = 0; i < kTrimGuarded; ++i) {
    guarded[i] = MallocGuarded(100 + 50 * (size_t)i);
    FillPattern(guarded[i], 100 + 50 * (size_t)i, (unsigned)i);
  }
  for (int i = 0; i < kTrimLarge; ++i) {
    large[i] = malloc(100000 + 4096 * (size_t)i);
    if (large[i] == NULL) Fail("malloc failed");
    FillPattern(large[i], 100000 + 4096 * (size_t)i, (unsigned)i);
  }
  for (int i = 0; i < kTrimSmall; ++i) {
    small[i] = malloc(48);
    if (small[i] == NULL) Fail("malloc failed");
    FillPattern(small[i], 48, (unsigned)i);
  }
  // Every other block freed.
  for (int i = 1; i < kTrimGuarded; i += 2) free(guarded[i]);
  for (int i = 1; i < kTrimLarge; i += 2) free(large[i]);
  for (int i = 1; i < kTrimSmall; i += 2) free(small[i]);
  const int trimmed = malloc_trim(0);
  for (int i = 0; i < kTrimGuarded; ++i) {
    if (i % 2 == 1) {
      ExpectFreedGuarded((uintptr_t)guarded[i], "trim");
      continue;
    }
    ExpectGuarded(guarded[i], 100 + 50 * (size_t)i, "trim");
    CheckPattern(guarded[i], 100 + 50 * (size_t)i, (unsigned)i, "trim");
    free(guarded[i]);
  }
  for (int i = 0; i < kTrimLarge; i += 2) {
    CheckPattern(large[i], 100000 + 4096 * (size_t)i, (unsigned)i, "large");
    free(large[i]);
  }
  for (int i = 0; i < kTrimSmall; i += 2) {
    CheckPattern(small[i], 48, (unsigned)i, "small");
    free(small[i]);
  }
  // All freed, trimmed again, and the pool still serves.
  malloc_trim(0);
  char* after = MallocGuarded(200);
  FillPattern(after, 200, 1);
  CheckPattern(after, 200, 1, "after trim");
  free(after);
  printf("trim ok (malloc_trim returned %d)\n", trimmed);
  return 0;
}
