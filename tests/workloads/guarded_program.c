// The drop-in's guarded sampling seen from a program, one scenario per
// run, run by tests/malloc_guarded_test.sh preloaded and linked in, with
// every allocation a thread heap's slow path sees guarded unless the
// scenario says otherwise. The scenarios that plant a bug print the
// guarded block's address ("block 0x...") and then do it: the allocator
// must kill the process with its report, which the test checks (kind,
// offset, size, the stacks through addr2line). They fail with exit 1 if
// the program survives.
//
//   use-after-free-write  a 64-byte block freed, then byte 16 written
//   use-after-free-read   the same, byte 40 read
//   overflow              the byte just past a 64-byte block written
//                         (placement end: the block ends its page)
//   underflow             the byte just before one written (placement start)
//   double-free           a block freed twice
//   invalid-free          free() of a pointer 16 bytes into a block
//   default-rate [N]      at the default sampling rate: N blocks of 256
//                         bytes (60,000 unless given) allocated and kept,
//                         all freed, then each written: found if one was
//                         guarded (prints "guarded K of N" first)
//
// and the scenarios of guarded_scenarios.c, which print "<scenario> ok".
// The functions a report's stacks must name are guarded_test_*: external,
// never inlined, and with work after each call so that no call is a tail
// call (which would drop their frame).
#define _GNU_SOURCE
#include "tests/workloads/guarded_program.h"

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void Fail(const char* format, ...) {
  va_list args;
  va_start(args, format);
  fprintf(stderr, "guarded_program: FAIL ");
  vfprintf(stderr, format, args);
  fprintf(stderr, "\n");
  va_end(args);
  exit(1);
}

static int probe_pipe[2] = {-1, -1};

int IsReadable(const void* p) {
  // Every thread writes a byte before it reads one, so a read never waits.
  while (write(probe_pipe[1], p, 1) != 1) {
    if (errno == EFAULT) return 0;
    if (errno != EINTR) Fail("probe write: %s", strerror(errno));
  }
  char byte;
  while (read(probe_pipe[0], &byte, 1) != 1) {
    if (errno != EINTR) Fail("probe read: %s", strerror(errno));
  }
  return 1;
}

size_t PageSize(void) { return (size_t)sysconf(_SC_PAGESIZE); }

int IsGuarded(const void* p) {
  const size_t page = PageSize();
  const char* start = (const char*)((uintptr_t)p & ~(uintptr_t)(page - 1));
  return IsReadable(start) && !IsReadable(start - page) &&
         !IsReadable(start + page);
}

static unsigned char PatternByte(size_t i, unsigned seed) {
  return (unsigned char)(i * 131 + seed * 7 + 1);
}

void FillPattern(void* p, size_t size, unsigned seed) {
  unsigned char* bytes = p;
  for (size_t i = 0; i < size; ++i) bytes[i] = PatternByte(i, seed);
}

void CheckPattern(const void* p, size_t size, unsigned seed, const char* what) {
  const unsigned char* bytes = p;
  for (size_t i = 0; i < size; ++i) {
    if (bytes[i] != PatternByte(i, seed)) {
      Fail("%s: byte %zu of %zu is %d, want %d", what, i, size, bytes[i],
           PatternByte(i, seed));
    }
  }
}

enum { kGuardedTries = 100000 };

void* MallocGuarded(size_t size) {
  for (int i = 0; i < kGuardedTries; ++i) {
    void* block = malloc(size);
    if (block == NULL) Fail("malloc(%zu) failed", size);
    if (IsGuarded(block)) return block;
  }
  Fail("no guarded block of %zu bytes in %d tries", size, kGuardedTries);
}

// ---- the planted bugs ----------------------------------------------------

enum { kBlockSize = 64 };

static volatile int calls_done;  // Written after each call: no tail calls.

__attribute__((noinline)) char* guarded_test_allocating_function(size_t size) {
  // MallocGuarded's loop, here so that this function calls malloc itself.
  for (int i = 0; i < kGuardedTries; ++i) {
    char* block = malloc(size);
    if (block == NULL) Fail("malloc(%zu) failed", size);
    if (IsGuarded(block)) {
      memset(block, 0x5a, size);
      return block;
    }
  }
  Fail("no guarded block of %zu bytes in %d tries", size, kGuardedTries);
}

__attribute__((noinline)) void guarded_test_freeing_function(char* block) {
  free(block);
  ++calls_done;
}

__attribute__((noinline)) void guarded_test_freeing_again_function(
    char* block) {
  free(block);
  ++calls_done;
}

__attribute__((noinline)) void guarded_test_freeing_inside_function(
    char* inside) {
  free(inside);
  ++calls_done;
}

// Reads or writes byte `offset` of `block`. The test first, so that the
// access is not the function's first instruction: the report resolves its
// innermost frame, the faulting instruction itself, at that address less
// one, as if it were a return address, which would name the function
// before this one.
__attribute__((noinline)) int guarded_test_accessing_function(
    volatile char* block, ptrdiff_t offset, int write) {
  if (write) {
    block[offset] = 1;
    return 0;
  }
  return block[offset];
}

// The block the report must name, for the test.
static char* Announce(char* block) {
  printf("block 0x%lx\n", (unsigned long)(uintptr_t)block);
  fflush(stdout);
  return block;
}

static int UseAfterFree(ptrdiff_t offset, int write) {
  char* block = Announce(guarded_test_allocating_function(kBlockSize));
  guarded_test_freeing_function(block);
  guarded_test_accessing_function(block, offset, write);
  Fail("the use after free at offset %td went unreported", offset);
}

static int OutOfBounds(ptrdiff_t offset) {
  char* block = Announce(guarded_test_allocating_function(kBlockSize));
  if (IsReadable(block + offset)) {
    Fail("byte %td of the guarded block is readable: wrong placement?", offset);
  }
  guarded_test_accessing_function(block, offset, 1);
  Fail("the access at offset %td went unreported", offset);
}

static int DoubleFree(void) {
  char* block = Announce(guarded_test_allocating_function(kBlockSize));
  guarded_test_freeing_function(block);
  guarded_test_freeing_again_function(block);
  Fail("the double free went unreported");
}

static int InvalidFree(void) {
  char* block = Announce(guarded_test_allocating_function(kBlockSize));
  guarded_test_freeing_inside_function(block + 16);
  Fail("the invalid free went unreported");
}

// ---- default-rate --------------------------------------------------------

enum { kDefaultRateBlockSize = 256, kDefaultRateBlocks = 60000 };

static int DefaultRate(int count) {
  if (count <= 0) Fail("default-rate: bad count %d", count);
  char** blocks = malloc(sizeof(char*) * (size_t)count);
  if (blocks == NULL) Fail("no memory for the pointers");
  // Kept, none freed meanwhile: every block comes fresh from a slow path,
  // so the sampler counts all of their bytes.
  for (int i = 0; i < count; ++i) {
    blocks[i] = malloc(kDefaultRateBlockSize);
    if (blocks[i] == NULL) Fail("malloc failed at block %d", i);
    memset(blocks[i], 0x33, kDefaultRateBlockSize);
  }
  // For the log: how many were sampled, and the first.
  int guarded = 0, first = -1;
  for (int i = 0; i < count; ++i) {
    if (IsGuarded(blocks[i])) {
      if (first < 0) first = i;
      ++guarded;
    }
  }
  printf("guarded %d of %d (the first: block %d)\n", guarded, count, first);
  fflush(stdout);
  for (int i = 0; i < count; ++i) free(blocks[i]);
  // The planted bug, on every block: a guarded one faults. Byte 128, clear
  // of the free-list link a freed heap block holds.
  for (int i = 0; i < count; ++i) {
    ((volatile char*)blocks[i])[kDefaultRateBlockSize / 2] = 1;
  }
  printf("default-rate: no use after free found in %d blocks\n", count);
  return 3;
}

int main(int argc, char** argv) {
  if (argc < 2) Fail("usage: guarded_program SCENARIO [ARG]");
  if (pipe(probe_pipe) != 0) Fail("pipe: %s", strerror(errno));
  const char* scenario = argv[1];
  if (strcmp(scenario, "use-after-free-write") == 0) return UseAfterFree(16, 1);
  if (strcmp(scenario, "use-after-free-read") == 0) return UseAfterFree(40, 0);
  if (strcmp(scenario, "overflow") == 0) return OutOfBounds(kBlockSize);
  if (strcmp(scenario, "underflow") == 0) return OutOfBounds(-1);
  if (strcmp(scenario, "double-free") == 0) return DoubleFree();
  if (strcmp(scenario, "invalid-free") == 0) return InvalidFree();
  if (strcmp(scenario, "default-rate") == 0) {
    return DefaultRate(argc > 2 ? atoi(argv[2]) : kDefaultRateBlocks);
  }
  if (strcmp(scenario, "realloc") == 0) return ReallocScenario();
  if (strcmp(scenario, "usable-size") == 0) return UsableSizeScenario();
  if (strcmp(scenario, "calloc") == 0) return CallocScenario();
  if (strcmp(scenario, "aligned") == 0) return AlignedScenario();
  if (strcmp(scenario, "exhaustion") == 0) return ExhaustionScenario();
  if (strcmp(scenario, "threads") == 0) return ThreadsScenario();
  if (strcmp(scenario, "fork") == 0) return ForkScenario();
  if (strcmp(scenario, "fork-threads") == 0) return ForkThreadsScenario();
  if (strcmp(scenario, "trim") == 0) return TrimScenario();
  Fail("unknown scenario %s", scenario);
}
