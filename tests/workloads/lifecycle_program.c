// Thread and process lifecycles that a per-thread allocator must survive,
// for the LD_PRELOAD test: threads that exit while others still free their
// blocks, heaps that outlive their threads and are adopted, fork() while
// other threads allocate, and calloc on memory that was dirty before. Plain
// C on malloc, calloc, realloc and free only, so that it runs unchanged on
// any malloc. Every block's contents are checked before it is freed. Prints
// one line per scenario whose checksum does not depend on scheduling;
// exits non-zero on the first failure.

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/workloads/lifecycle_checks.h"

// --- (a) A thread's second chunk emptied by another thread before it exits.

// 1,000-byte blocks share a 1 KiB class: 64 to a 64 KiB page, and a 4 MiB
// chunk has 63 pages for blocks, so 65 pages' worth needs a second chunk.
enum { kSplitBlockSize = 1000, kSplitBlocks = 65 * 64, kSplitRounds = 6 };

struct SplitJob {
  unsigned char* blocks[kSplitBlocks];
  uint64_t seed;
  uint64_t sum;
};

static void* FreeSecondHalf(void* arg) {
  struct SplitJob* job = arg;
  for (int i = kSplitBlocks / 2; i < kSplitBlocks; ++i) {
    job->sum += Check(job->blocks[i], kSplitBlockSize, job->seed + i,
                      "two chunks, freed by another thread");
    free(job->blocks[i]);
  }
  return NULL;
}

static void* AllocateTwoChunks(void* arg) {
  struct SplitJob* job = arg;
  for (int i = 0; i < kSplitBlocks; ++i) {
    job->blocks[i] = Allocate(kSplitBlockSize);
    Fill(job->blocks[i], kSplitBlockSize, job->seed + i);
  }
  // Exits only after the other thread emptied the second chunk, so that
  // the exit finds whole chunks to release.
  pthread_t freer;
  Start(&freer, FreeSecondHalf, job);
  Join(freer);
  return NULL;
}

static void TwoChunksThenExit(void) {
  struct SplitJob* job = Allocate(sizeof(struct SplitJob));
  uint64_t sum = 0;
  for (int round = 0; round < kSplitRounds; ++round) {
    job->seed = (uint64_t)round << 32;
    job->sum = 0;
    pthread_t owner;
    Start(&owner, AllocateTwoChunks, job);
    Join(owner);
    // Frees into the heap the exited thread left behind, which the next
    // round's thread adopts.
    for (int i = 0; i < kSplitBlocks / 2; ++i) {
      job->sum += Check(job->blocks[i], kSplitBlockSize, job->seed + i,
                        "two chunks, after the owner exited");
      free(job->blocks[i]);
    }
    sum += job->sum;
  }
  free(job);
  printf("two chunks then exit: %d rounds of %d blocks, checksum %016llx\n",
         kSplitRounds, kSplitBlocks, (unsigned long long)sum);
}

// --- (b) Thousands of short-lived threads passing blocks along.

enum { kChurnThreads = 2000, kChurnBlocks = 24, kChurnSlots = 128 };

struct Parcel {
  unsigned char* data;
  size_t size;
  uint64_t seed;
};

static pthread_mutex_t churn_mu = PTHREAD_MUTEX_INITIALIZER;
static struct Parcel churn_slots[kChurnSlots];
static _Atomic uint64_t churn_sum;

// Mostly small sizes, some up to the per-thread allocator's largest class,
// a few beyond it.
static size_t ChurnSize(uint64_t h) {
  const unsigned r = (unsigned)(h % 100);
  h >>= 8;
  if (r < 70) return 1 + h % 2048;
  if (r < 95) return 2049 + h % 30720;
  return 32769 + h % 200000;
}

// A block made the way its index says: malloc, calloc, or grown by realloc.
static unsigned char* MakeBlock(size_t size, uint64_t seed, int how,
                                uint64_t* sum) {
  unsigned char* p;
  if (how == 0) {
    p = calloc(1, size);
    if (p == NULL) Fail("calloc(1, %zu) returned NULL", size);
    for (size_t i = 0; i < size; ++i) {
      if (p[i] != 0) Fail("calloc(1, %zu): byte %zu is not zero", size, i);
    }
  } else if (how == 1) {
    const size_t half = size / 2 + 1;
    p = Allocate(half);
    Fill(p, half, ~seed);
    unsigned char* grown = realloc(p, size);
    if (grown == NULL) Fail("realloc(%zu) returned NULL", size);
    p = grown;
    *sum += Check(p, half, ~seed, "realloc kept the old contents");
  } else {
    p = Allocate(size);
  }
  Fill(p, size, seed);
  return p;
}

static void* ChurnThread(void* arg) {
  const uint64_t id = (uint64_t)(uintptr_t)arg;
  uint64_t sum = 0;
  for (int j = 0; j < kChurnBlocks; ++j) {
    const uint64_t h = Mix(id * kChurnBlocks + j);
    struct Parcel mine = {NULL, ChurnSize(h), h};
    mine.data = MakeBlock(mine.size, mine.seed, j % 5, &sum);
    if (j % 2 == 0) {
      sum += Check(mine.data, mine.size, mine.seed, "churn, own block");
      free(mine.data);
      continue;
    }
    pthread_mutex_lock(&churn_mu);
    struct Parcel* slot = &churn_slots[(id * 7 + (uint64_t)j) % kChurnSlots];
    const struct Parcel earlier = *slot;
    *slot = mine;
    pthread_mutex_unlock(&churn_mu);
    if (earlier.data != NULL) {
      sum += Check(earlier.data, earlier.size, earlier.seed,
                   "churn, block of an earlier thread");
      free(earlier.data);
    }
  }
  atomic_fetch_add(&churn_sum, sum);
  return NULL;
}

static void ThreadChurn(void) {
  RunThreads(kChurnThreads, ChurnThread);
  uint64_t sum = atomic_load(&churn_sum);
  for (int s = 0; s < kChurnSlots; ++s) {
    struct Parcel* slot = &churn_slots[s];
    if (slot->data == NULL) continue;
    sum += Check(slot->data, slot->size, slot->seed, "churn, left in a slot");
    free(slot->data);
    slot->data = NULL;
  }
  printf("thread churn: %d threads, checksum %016llx\n", kChurnThreads,
         (unsigned long long)sum);
}

// --- (c) Short-lived producers, one long-lived consumer.

enum {
  kProducers = 200,
  kItemsPerProducer = 40,
  kItems = kProducers * kItemsPerProducer,
};

struct Item {
  struct Item* next;
  unsigned char* data;
  size_t size;
  uint64_t seed;
};

static pthread_mutex_t queue_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cv = PTHREAD_COND_INITIALIZER;
static struct Item* queue_head;
static struct Item* queue_tail;

static void* Produce(void* arg) {
  const uint64_t producer = (uint64_t)(uintptr_t)arg;
  for (int i = 0; i < kItemsPerProducer; ++i) {
    struct Item* item = Allocate(sizeof(struct Item));
    item->next = NULL;
    item->seed = Mix(producer * kItemsPerProducer + (uint64_t)i + 12345);
    item->size = 600 + item->seed % 9001;
    item->data = Allocate(item->size);
    Fill(item->data, item->size, item->seed);
    pthread_mutex_lock(&queue_mu);
    if (queue_tail == NULL) {
      queue_head = item;
    } else {
      queue_tail->next = item;
    }
    queue_tail = item;
    pthread_cond_signal(&queue_cv);
    pthread_mutex_unlock(&queue_mu);
  }
  return NULL;
}

static void* Consume(void* arg) {
  uint64_t* sum = arg;
  for (int n = 0; n < kItems; ++n) {
    pthread_mutex_lock(&queue_mu);
    while (queue_head == NULL) pthread_cond_wait(&queue_cv, &queue_mu);
    struct Item* item = queue_head;
    queue_head = item->next;
    if (queue_head == NULL) queue_tail = NULL;
    pthread_mutex_unlock(&queue_mu);
    *sum += Check(item->data, item->size, item->seed, "queue item");
    free(item->data);
    free(item);
  }
  return NULL;
}

static void ProducersAndConsumer(void) {
  uint64_t sum = 0;
  pthread_t consumer;
  Start(&consumer, Consume, &sum);
  RunThreads(kProducers, Produce);
  Join(consumer);
  printf("producers and consumer: %d producers, %d items, checksum %016llx\n",
         kProducers, kItems, (unsigned long long)sum);
}

// --- (d) fork() while other threads allocate.

enum {
  kForkWorkers = 4,
  kForks = 6,
  kInherited = 200,
  kChildSmallBlocks = 64 * 1024,  // 64 MiB of 1 KiB blocks.
  kChildSmallSize = 1024,
  kChildLargeBlocks = 64,
  kChildLargeSize = 100 * 1024,
  kChildSeconds = 30,
};

static atomic_int fork_stop;
static _Atomic uint64_t fork_worker_rounds;

static void* ForkWorker(void* arg) {
  const uint64_t worker = (uint64_t)(uintptr_t)arg;
  struct Parcel live[64];
  for (uint64_t round = 0; !atomic_load(&fork_stop); ++round) {
    for (int i = 0; i < 64; ++i) {
      const uint64_t h = Mix(worker << 40 | round << 8 | (uint64_t)i);
      live[i].size =
          (h & 15) == 0 ? 32769 + (h >> 8) % 100000 : 1 + (h >> 8) % 4096;
      live[i].seed = h;
      live[i].data = Allocate(live[i].size);
      Fill(live[i].data, live[i].size, h);
    }
    for (int i = 0; i < 64; ++i) {
      const int k = (i * 37 + (int)round) % 64;
      Check(live[k].data, live[k].size, live[k].seed, "fork worker");
      free(live[k].data);
    }
    atomic_fetch_add(&fork_worker_rounds, 1);
  }
  return NULL;
}

// Writes to stderr without stdio, whose locks another thread of the parent
// may have held at fork().
static void ChildFail(const char* message) {
  const ssize_t ignored = write(STDERR_FILENO, message, strlen(message));
  (void)ignored;
  _exit(1);
}

static void ChildWork(struct Parcel* inherited, int pipe_out) {
  // A deadlock in the child kills it with SIGALRM instead of hanging.
  alarm(kChildSeconds);
  uint64_t sum = 0;
  for (int i = 0; i < kInherited; ++i) {
    sum += Check(inherited[i].data, inherited[i].size, inherited[i].seed,
                 "child, block from before fork");
    free(inherited[i].data);
  }
  unsigned char** small = malloc(sizeof(unsigned char*) * kChildSmallBlocks);
  unsigned char** large = malloc(sizeof(unsigned char*) * kChildLargeBlocks);
  if (small == NULL || large == NULL) ChildFail("child: malloc failed\n");
  for (int i = 0; i < kChildSmallBlocks; ++i) {
    small[i] = malloc(kChildSmallSize);
    if (small[i] == NULL) ChildFail("child: malloc(1024) failed\n");
    Fill(small[i], kChildSmallSize, (uint64_t)i);
  }
  for (int i = 0; i < kChildLargeBlocks; ++i) {
    large[i] = malloc(kChildLargeSize);
    if (large[i] == NULL) ChildFail("child: malloc(100 KiB) failed\n");
    Fill(large[i], kChildLargeSize, ~(uint64_t)i);
  }
  for (int i = 0; i < kChildSmallBlocks; ++i) {
    sum += Check(small[i], kChildSmallSize, (uint64_t)i, "child, 1 KiB");
    free(small[i]);
  }
  for (int i = 0; i < kChildLargeBlocks; ++i) {
    sum += Check(large[i], kChildLargeSize, ~(uint64_t)i, "child, 100 KiB");
    free(large[i]);
  }
  free(small);
  free(large);
  if (write(pipe_out, &sum, sizeof(sum)) != (ssize_t)sizeof(sum)) {
    ChildFail("child: cannot write its checksum\n");
  }
  _exit(0);
}

static void ForkWhileAllocating(void) {
  // The parent can deadlock in fork() too.
  alarm(kForks * kChildSeconds);
  atomic_store(&fork_stop, 0);
  pthread_t workers[kForkWorkers];
  for (int w = 0; w < kForkWorkers; ++w) {
    Start(&workers[w], ForkWorker, (void*)(uintptr_t)w);
  }
  uint64_t sum = 0;
  struct Parcel* inherited = Allocate(sizeof(struct Parcel) * kInherited);
  for (int f = 0; f < kForks; ++f) {
    // Fork only once every worker is busy allocating.
    const uint64_t rounds = atomic_load(&fork_worker_rounds);
    while (atomic_load(&fork_worker_rounds) < rounds + kForkWorkers) {
      sched_yield();
    }
    for (int i = 0; i < kInherited; ++i) {
      inherited[i].seed = Mix((uint64_t)f << 20 | (uint64_t)i);
      inherited[i].size = 16 + inherited[i].seed % 5000;
      inherited[i].data = Allocate(inherited[i].size);
      Fill(inherited[i].data, inherited[i].size, inherited[i].seed);
    }
    int fds[2];
    if (pipe(fds) != 0) Fail("pipe failed");
    fflush(stdout);
    const pid_t child = fork();
    if (child < 0) Fail("fork failed");
    if (child == 0) {
      close(fds[0]);
      ChildWork(inherited, fds[1]);
    }
    close(fds[1]);
    uint64_t child_sum = 0;
    const ssize_t got = read(fds[0], &child_sum, sizeof(child_sum));
    close(fds[0]);
    int status;
    if (waitpid(child, &status, 0) != child) Fail("waitpid failed");
    if (WIFSIGNALED(status)) {
      Fail("fork %d: child killed by signal %d%s", f, WTERMSIG(status),
           WTERMSIG(status) == SIGALRM ? " (deadlocked)" : "");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      Fail("fork %d: child exited with status %d", f, WEXITSTATUS(status));
    }
    if (got != (ssize_t)sizeof(child_sum)) {
      Fail("fork %d: child sent no checksum", f);
    }
    sum += child_sum;
    for (int i = 0; i < kInherited; ++i) {
      sum += Check(inherited[i].data, inherited[i].size, inherited[i].seed,
                   "parent, block from before fork");
      free(inherited[i].data);
    }
  }
  free(inherited);
  atomic_store(&fork_stop, 1);
  for (int w = 0; w < kForkWorkers; ++w) Join(workers[w]);
  alarm(0);
  printf("fork while allocating: %d forks, checksum %016llx\n", kForks,
         (unsigned long long)sum);
}

// --- (e) calloc above a page on memory that held other data.

enum { kCallocRounds = 40 };

static void CallocOnDirtyMemory(void) {
  static const size_t kSizes[] = {5000, 70000, 300000, 3000000};
  enum { kCount = sizeof(kSizes) / sizeof(kSizes[0]) };
  uint64_t checked = 0;
  for (int round = 0; round < kCallocRounds; ++round) {
    unsigned char* dirty[kCount];
    for (int i = 0; i < kCount; ++i) {
      dirty[i] = Allocate(kSizes[i]);
      memset(dirty[i], 0xA5, kSizes[i]);
    }
    for (int i = kCount; i-- > 0;) free(dirty[i]);
    unsigned char* zeroed[kCount];
    for (int i = 0; i < kCount; ++i) {
      const size_t size = kSizes[i];
      zeroed[i] = round % 2 == 0 ? calloc(1, size) : calloc(size / 8, 8);
      if (zeroed[i] == NULL) Fail("calloc of %zu bytes returned NULL", size);
      for (size_t b = 0; b < size; ++b) {
        if (zeroed[i][b] != 0) {
          Fail("calloc of %zu bytes, round %d: byte %zu is 0x%02x", size, round,
               b, zeroed[i][b]);
        }
      }
      checked += size;
      memset(zeroed[i], 0xA5, size);
    }
    for (int i = 0; i < kCount; ++i) free(zeroed[i]);
  }
  printf("calloc on dirty memory: %d rounds, %llu bytes checked zero\n",
         kCallocRounds, (unsigned long long)checked);
}

int main(void) {
  // Unbuffered: a crash must not lose the lines of the scenarios that passed.
  setvbuf(stdout, NULL, _IONBF, 0);
  TwoChunksThenExit();
  ThreadChurn();
  ProducersAndConsumer();
  ForkWhileAllocating();
  CallocOnDirtyMemory();
  return 0;
}
