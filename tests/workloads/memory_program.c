// How a malloc manages memory, for the LD_PRELOAD test: huge calloc without
// writing, huge blocks given back to the OS when freed even below a live
// block, many untouched huge blocks at once, a loop of large blocks, and
// realloc of a large block keeping its contents; with the argument
// "limits", run under ulimit -v 1000000, what a program gets of its address
// space; with "mlockall", that locking all memory locks only what is used.
// Plain C on the standard interface, so that it runs unchanged on any malloc;
// the bounds checked are glibc's behaviour. Prints one line per scenario; exits
// non-zero on the first failure.

#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)

static void Fail(const char* format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, "memory_program: FAIL ");
  vfprintf(stderr, format, args);
  fprintf(stderr, "\n");
  va_end(args);
  exit(1);
}

// Makes the compiler keep writes to `p` (and the malloc behind them): a
// block freed without being read may otherwise never be written at all.
static void Escape(void* p) { __asm__ volatile("" : : "r"(p) : "memory"); }

static size_t ResidentBytes(void) {
  FILE* statm = fopen("/proc/self/statm", "r");
  unsigned long size = 0, resident = 0;
  if (statm == NULL) Fail("cannot read /proc/self/statm");
  if (fscanf(statm, "%lu %lu", &size, &resident) != 2) Fail("bad statm");
  fclose(statm);
  return resident * 4096;
}

// calloc of 2 GiB must not write the pages: fresh mappings are zero.
static void HugeCalloc(void) {
  const size_t before = ResidentBytes();
  unsigned char* p = calloc(2, GIB);
  Escape(p);
  if (p == NULL) Fail("calloc(2 GiB) returned null");
  for (size_t i = 0; i < 2 * GIB; i += 64 * MIB + 4095) {
    if (p[i] != 0) Fail("calloc(2 GiB) byte %zu is not zero", i);
  }
  if (ResidentBytes() > before + 64 * MIB) {
    Fail("calloc(2 GiB) made %zu MiB resident",
         (ResidentBytes() - before) / MIB);
  }
  free(p);
  printf("calloc of 2 GiB: zero, not made resident\n");
}

// A freed 1 GiB block goes back to the OS though a small block lives above.
static void FreedHugeBlockBelowALiveOne(void) {
  const size_t before = ResidentBytes();
  unsigned char* huge = malloc(GIB);
  if (huge == NULL) Fail("malloc(1 GiB) returned null");
  memset(huge, 1, GIB);
  Escape(huge);
  void* above = malloc(40 << 10);
  if (above == NULL) Fail("malloc(40 KiB) returned null");
  free(huge);
  const size_t after = ResidentBytes();
  if (after > before + 64 * MIB) {
    Fail("1 GiB freed, %zu MiB still resident", (after - before) / MIB);
  }
  free(above);
  printf("1 GiB freed below a live block: returned to the OS\n");
}

// 100 untouched 1 GiB blocks at once: no ceiling below what the OS gives.
static void ManyUntouchedHugeBlocks(void) {
  enum { kBlocks = 100 };
  void* blocks[kBlocks];
  for (int i = 0; i < kBlocks; ++i) {
    blocks[i] = malloc(GIB);
    Escape(blocks[i]);
    if (blocks[i] == NULL) Fail("untouched 1 GiB block %d returned null", i);
  }
  for (int i = 0; i < kBlocks; ++i) free(blocks[i]);
  printf("100 untouched 1 GiB blocks: all allocated\n");
}

// Blocks of 5 to 25 MiB in a loop, each written at both ends and checked.
static void LargeBlockLoop(void) {
  uint64_t sum = 0;
  for (int i = 0; i < 300; ++i) {
    const size_t size = (5 + (size_t)(i * 7) % 21) * MIB;
    unsigned char* p = malloc(size);
    if (p == NULL) Fail("malloc(%zu) returned null", size);
    memset(p, i & 0xff, 4096);
    memset(p + size - 4096, (i + 1) & 0xff, 4096);
    Escape(p);
    sum += p[0] + p[size - 1];
    free(p);
  }
  printf("large-block loop: 300 blocks, checksum %llu\n",
         (unsigned long long)sum);
}

// realloc from 1 MiB to 64 MiB in steps keeps the contents.
static void LargeReallocChain(void) {
  size_t size = MIB;
  unsigned char* p = malloc(size);
  if (p == NULL) Fail("malloc(1 MiB) returned null");
  for (size_t i = 0; i < size; ++i) p[i] = (unsigned char)(i * 31);
  while (size < 64 * MIB) {
    size = size * 3 / 2;
    p = realloc(p, size);
    if (p == NULL) Fail("realloc to %zu returned null", size);
  }
  for (size_t i = 0; i < MIB; ++i) {
    if (p[i] != (unsigned char)(i * 31)) Fail("realloc lost byte %zu", i);
  }
  p = realloc(p, 300 << 10);
  if (p == NULL) Fail("realloc down returned null");
  for (size_t i = 0; i < (300 << 10); ++i) {
    if (p[i] != (unsigned char)(i * 31)) Fail("shrinking lost byte %zu", i);
  }
  free(p);
  printf("realloc of a large block up to 64 MiB and down: contents kept\n");
}

// 128 MiB of 64-byte blocks freed by another thread, then 128 MiB of
// 128-byte blocks: the first phase's memory must serve the second (glibc
// peaks at about 1.4 times the first phase here).
static void* FreeAll(void* arg) {
  void** blocks = arg;
  for (size_t i = 0; blocks[i] != NULL; ++i) free(blocks[i]);
  return NULL;
}

static void RemoteFreeThenOtherSize(void) {
  const size_t count = 128 * MIB / 64;
  void** small = malloc((count + 1) * sizeof(void*));
  if (small == NULL) Fail("malloc of the block list returned null");
  const size_t before = ResidentBytes();
  for (size_t i = 0; i < count; ++i) {
    small[i] = malloc(64);
    if (small[i] == NULL) Fail("malloc(64) returned null");
    memset(small[i], 1, 64);
  }
  small[count] = NULL;
  const size_t first = ResidentBytes() - before;
  pthread_t other;
  if (pthread_create(&other, NULL, FreeAll, small) != 0) Fail("no thread");
  pthread_join(other, NULL);
  void** larger = malloc(count / 2 * sizeof(void*));
  if (larger == NULL) Fail("malloc of the second block list returned null");
  for (size_t i = 0; i < count / 2; ++i) {
    larger[i] = malloc(128);
    if (larger[i] == NULL) Fail("malloc(128) returned null");
    memset(larger[i], 2, 128);
  }
  const size_t second = ResidentBytes() - before;
  if (second > first * 16 / 10) {
    Fail("second phase %zu MiB resident after a first of %zu MiB", second / MIB,
         first / MIB);
  }
  for (size_t i = 0; i < count / 2; ++i) free(larger[i]);
  free(larger);
  free(small);
  printf("remote frees then another size: memory reused\n");
}

// Under ulimit -v 1000000 (976 MiB): the allocator's own reservations must
// leave the program nearly all of it.
// Each thread allocates a little: with a per-thread allocator, that maps
// its heap. (glibc's arenas reserve 64 MiB each, so it limits itself to 8
// threads per core here.)
static void* Thread(void* arg) {
  pthread_barrier_t* barrier = arg;
  char* p = malloc(100);
  if (p == NULL) return NULL;
  memset(p, 1, 100);
  pthread_barrier_wait(barrier);
  free(p);
  return barrier;  // Not null: it allocated.
}

static void Limits(void) {
  unsigned char* big = malloc(600 * MIB);
  if (big == NULL) Fail("malloc(600 MiB) returned null");
  big[0] = big[600 * MIB - 1] = 1;
  Escape(big);
  free(big);
  printf("600 MiB block: allocated\n");

  enum { kMaxBlocks = 1024 };
  static void* blocks[kMaxBlocks];
  int count = 0;
  while (count < kMaxBlocks && (blocks[count] = malloc(MIB)) != NULL) {
    memset(blocks[count], 1, 64);
    ++count;
  }
  if (count < 900) Fail("only %d blocks of 1 MiB", count);
  for (int i = 0; i < count; ++i) free(blocks[i]);
  printf("1 MiB blocks: over 900\n");

  void* own = mmap(NULL, 256 * MIB, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (own == MAP_FAILED) Fail("the program's own mmap of 256 MiB failed");
  munmap(own, 256 * MIB);
  printf("the program's own mmap of 256 MiB: mapped\n");

  enum { kThreads = 16 };
  pthread_t threads[kThreads];
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, kThreads);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 4 * MIB);
  for (int i = 0; i < kThreads; ++i) {
    if (pthread_create(&threads[i], &attr, Thread, &barrier) != 0) {
      Fail("thread %d did not start", i);
    }
  }
  for (int i = 0; i < kThreads; ++i) {
    void* result;
    pthread_join(threads[i], &result);
    if (result == NULL) Fail("thread %d could not allocate", i);
  }
  printf("16 threads: started and allocated\n");
}

static size_t StatusKb(const char* field) {
  FILE* status = fopen("/proc/self/status", "r");
  char line[256];
  size_t kb = 0;
  if (status == NULL) Fail("cannot read /proc/self/status");
  while (fgets(line, sizeof(line), status) != NULL) {
    if (strncmp(line, field, strlen(field)) == 0) {
      sscanf(line + strlen(field), ": %zu", &kb);
    }
  }
  fclose(status);
  return kb;
}

// mlockall makes every mapping resident: reserved address space must not be
// mapped readable and writable, or it all becomes memory. (Run with
// CAP_IPC_LOCK or a memlock limit above the program's size.)
static void LockAll(void) {
  if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) Fail("mlockall failed");
  void* blocks[64];
  for (int i = 0; i < 64; ++i) {
    blocks[i] = malloc((size_t)(i + 1) * 1000);
    if (blocks[i] == NULL) Fail("malloc after mlockall returned null");
    memset(blocks[i], 1, (size_t)(i + 1) * 1000);
  }
  for (int i = 0; i < 64; ++i) free(blocks[i]);
  if (StatusKb("VmLck") > 64 * 1024) {
    Fail("%zu MiB locked", StatusKb("VmLck") / 1024);
  }
  munlockall();
  printf("mlockall: succeeded, under 64 MiB locked\n");
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "limits") == 0) {
    Limits();
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "mlockall") == 0) {
    LockAll();
    return 0;
  }
  HugeCalloc();
  FreedHugeBlockBelowALiveOne();
  ManyUntouchedHugeBlocks();
  LargeBlockLoop();
  LargeReallocChain();
  RemoteFreeThenOtherSize();
  malloc_trim(0);
  printf("done\n");
  return 0;
}
