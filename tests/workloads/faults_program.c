// The faults hostile programs found in the drop-in, one scenario each, run
// by tests/malloc_faults_test.sh preloaded and linked in. Each scenario
// prints "<scenario> ok" and exits 0 when the allocator behaves; a hang is
// caught by alarm(), which kills the process.
//
//   stats-race     a monitor thread polls every statistics function while
//                  three threads free each other's blocks
//   fork-handlers  fork with threads running, under fork handlers that
//                  allocate every size range and were registered before the
//                  allocator's (atfork_library.c, a DT_NEEDED library)
//   tsd-leak       2,000 threads whose key destructor allocates in every
//                  destructor round: resident memory and address space
//                  stay bounded
//   kept-mapping   a large block freed with a PROT_NONE page and
//                  MADV_DONTFORK on it: the next block of its size is
//                  readable, writable and inherited by a child
//   remote-write   a block freed by another thread is written to; the
//                  owner's next collection must abort with the free-list
//                  message (the test checks it), not crash or corrupt
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// The drop-in's own statistics function, where the drop-in is the malloc.
extern void rusty_malloc_print_stats(void) __attribute__((weak));

// Defined by atfork_library.c: forks whose parent handler ran.
extern int atfork_library_calls(void);

static void die(const char* what) {
  fprintf(stderr, "%s\n", what);
  exit(1);
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

// ---- stats-race ----------------------------------------------------------

enum { kSlots = 4096, kChurners = 3 };
static void* slots[kSlots];  // Swapped with __atomic_exchange_n.
static _Atomic int stop_churn;

static uint64_t next_random(uint64_t* state) {
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  return *state;
}

// Swaps blocks in and out of shared slots, so most frees are of blocks
// another thread allocated.
static void* churn(void* arg) {
  uint64_t state = (uintptr_t)arg * 0x9E3779B97F4A7C15u + 1;
  while (!stop_churn) {
    const uint64_t r = next_random(&state);
    const size_t size = 8 + r % 1000;
    void* block = malloc(size);
    if (block == NULL) die("malloc failed");
    memset(block, (int)r, size < 64 ? size : 64);
    free(__atomic_exchange_n(&slots[(r >> 16) % kSlots], block,
                             __ATOMIC_ACQ_REL));
  }
  return NULL;
}

static int stats_race(void) {
  FILE* sink = fopen("/dev/null", "w");
  if (sink == NULL) die("no /dev/null");
  pthread_t threads[kChurners];
  for (int i = 0; i < kChurners; ++i) {
    pthread_create(&threads[i], NULL, churn, (void*)(uintptr_t)(i + 1));
  }
  // stderr to /dev/null for malloc_stats and rusty_malloc_print_stats.
  const int saved_stderr = dup(2);
  dup2(fileno(sink), 2);
  const double end = now_seconds() + 0.3;
  long polls = 0;
  while (now_seconds() < end) {
    struct mallinfo2 info = mallinfo2();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    struct mallinfo old = mallinfo();  // Programs still call it.
#pragma GCC diagnostic pop
    (void)old;
    if (info.uordblks > ((size_t)1 << 40)) die("mallinfo2 is garbage");
    malloc_stats();
    if (malloc_info(0, sink) != 0) die("malloc_info failed");
    if (rusty_malloc_print_stats != NULL) rusty_malloc_print_stats();
    // A monitor may trim too: it purges heaps no thread uses.
    if (polls % 16 == 0) malloc_trim(0);
    ++polls;
  }
  stop_churn = 1;
  for (int i = 0; i < kChurners; ++i) pthread_join(threads[i], NULL);
  dup2(saved_stderr, 2);
  // Quiescent now: what the threads hold is in the figures.
  size_t held = 0;
  for (int i = 0; i < kSlots; ++i) {
    if (slots[i] != NULL) held += malloc_usable_size(slots[i]);
  }
  malloc_trim(0);
  const struct mallinfo2 info = mallinfo2();
  if (info.uordblks < held) {
    fprintf(stderr, "mallinfo2 says %zu bytes in use, the slots hold %zu\n",
            info.uordblks, held);
    return 1;
  }
  for (int i = 0; i < kSlots; ++i) free(slots[i]);
  printf("stats-race ok (%ld polls)\n", polls);
  return 0;
}

// ---- fork-handlers -------------------------------------------------------

static void* fork_churn(void* arg) {
  (void)arg;
  uint64_t state = 7;
  while (!stop_churn) {
    const uint64_t r = next_random(&state);
    // Small, medium and large, and large reallocations in flight.
    const size_t size = (size_t)1 << (4 + r % 21);
    void* block = malloc(size);
    if (block == NULL) die("malloc failed");
    void* grown = realloc(block, 2 * size + (r >> 40) % 4096);
    if (grown == NULL) die("realloc failed");
    free(grown);
  }
  return NULL;
}

enum { kForks = 20 };

static int fork_handlers(void) {
  pthread_t threads[2];
  for (int i = 0; i < 2; ++i) pthread_create(&threads[i], NULL, fork_churn, 0);
  const int before = atfork_library_calls();
  for (int i = 0; i < kForks; ++i) {
    const pid_t child = fork();
    if (child < 0) die("fork failed");
    if (child == 0) {
      // The child's heap works for every size range.
      alarm(10);
      for (size_t size = 16; size <= ((size_t)64 << 20); size *= 4) {
        char* block = malloc(size);
        if (block == NULL) _exit(2);
        // Its ends, not every page: the heap's working is what is tested.
        memset(block, 1, size < 4096 ? size : 4096);
        block[size - 1] = 1;
        free(block);
      }
      _exit(0);
    }
    int status = 0;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      fprintf(stderr, "child %d: status %d\n", i, status);
      return 1;
    }
  }
  stop_churn = 1;
  for (int i = 0; i < 2; ++i) pthread_join(threads[i], NULL);
  if (atfork_library_calls() - before != kForks) {
    die("the library's parent handlers did not all run");
  }
  printf("fork-handlers ok\n");
  return 0;
}

// ---- tsd-leak ------------------------------------------------------------

static pthread_key_t leak_key;

// Allocates in every destructor round, as a library's cleanup might.
static void destroy_value(void* value) {
  free(value);
  char* again = malloc(100);
  if (again == NULL) die("malloc in a key destructor failed");
  again[0] = 1;
  pthread_setspecific(leak_key, again);
}

static void* tsd_thread(void* arg) {
  (void)arg;
  pthread_setspecific(leak_key, malloc(100));
  return NULL;
}

// Resident and virtual size in bytes, from /proc/self/statm.
static void memory_now(size_t* resident, size_t* virtual_size) {
  FILE* statm = fopen("/proc/self/statm", "r");
  unsigned long pages = 0, rss = 0;
  if (statm == NULL || fscanf(statm, "%lu %lu", &pages, &rss) != 2) {
    die("cannot read /proc/self/statm");
  }
  fclose(statm);
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  *resident = rss * page;
  *virtual_size = pages * page;
}

static int tsd_leak(void) {
  pthread_key_create(&leak_key, destroy_value);
  // Warm up: thread stacks cached by glibc, first heaps made.
  for (int i = 0; i < 50; ++i) {
    pthread_t t;
    pthread_create(&t, NULL, tsd_thread, NULL);
    pthread_join(t, NULL);
  }
  size_t rss_before, vm_before;
  memory_now(&rss_before, &vm_before);
  for (int i = 0; i < 2000; ++i) {
    pthread_t t;
    if (pthread_create(&t, NULL, tsd_thread, NULL) != 0) die("no thread");
    pthread_join(t, NULL);
  }
  size_t rss_after, vm_after;
  memory_now(&rss_after, &vm_after);
  const long rss_growth = (long)(rss_after - rss_before) >> 20;
  const long vm_growth = (long)(vm_after - vm_before) >> 20;
  // A heap per thread would be about 4 MiB of address space each.
  if (rss_growth > 16 || vm_growth > 256) {
    fprintf(stderr, "tsd-leak: +%ld MiB resident, +%ld MiB address space\n",
            rss_growth, vm_growth);
    return 1;
  }
  printf("tsd-leak ok\n");
  return 0;
}

// ---- kept-mapping --------------------------------------------------------

static int kept_mapping(void) {
  const size_t size = (size_t)1 << 20;
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  for (int round = 0; round < 4; ++round) {
    char* block = malloc(size);
    if (block == NULL) die("malloc failed");
    memset(block, 1, size);
    // A guard page inside, and no copy in children: the program's own
    // business while it owns the block.
    char* guard = (char*)(((uintptr_t)block + size / 2) & ~(page - 1));
    if (mprotect(guard, page, PROT_NONE) != 0) die("mprotect failed");
    madvise((void*)((uintptr_t)block & ~(page - 1)), size, MADV_DONTFORK);
    free(block);
  }
  char* block = malloc(size);
  if (block == NULL) die("malloc failed");
  memset(block, 2, size);
  const pid_t child = fork();
  if (child == 0) _exit(block[size / 2] == 2 && block[size - 1] == 2 ? 0 : 3);
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    fprintf(stderr, "kept-mapping: child status %d\n", status);
    return 1;
  }
  free(block);
  printf("kept-mapping ok\n");
  return 0;
}

// ---- remote-write --------------------------------------------------------

enum { kRemoteBlocks = 4000 };
static void* remote_blocks[kRemoteBlocks];

static void* free_all(void* arg) {
  (void)arg;
  for (int i = 0; i < kRemoteBlocks; ++i) free(remote_blocks[i]);
  return NULL;
}

static int remote_write(void) {
  for (int i = 0; i < kRemoteBlocks; ++i) {
    remote_blocks[i] = malloc(48);
    if (remote_blocks[i] == NULL) die("malloc failed");
  }
  pthread_t t;
  pthread_create(&t, NULL, free_all, NULL);
  pthread_join(t, NULL);
  // Use after free: every freed block's first word overwritten.
  for (int i = 0; i < kRemoteBlocks; ++i) {
    memset(remote_blocks[i], 0x41, sizeof(void*));
  }
  // The owner reuses its pages, collecting the remote frees.
  for (int i = 0; i < 4 * kRemoteBlocks; ++i) {
    if (malloc(48) == NULL) die("malloc failed");
  }
  printf("remote-write not caught\n");
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) die("usage: faults_program SCENARIO");
  alarm(60);  // A deadlock fails the test instead of hanging it.
  if (strcmp(argv[1], "stats-race") == 0) return stats_race();
  if (strcmp(argv[1], "fork-handlers") == 0) return fork_handlers();
  if (strcmp(argv[1], "tsd-leak") == 0) return tsd_leak();
  if (strcmp(argv[1], "kept-mapping") == 0) return kept_mapping();
  if (strcmp(argv[1], "remote-write") == 0) return remote_write();
  die("unknown scenario");
  return 1;
}
