// A soak run, not a test: loops over the thread and process lifecycles that
// broke the per-thread allocator (short-lived producers feeding a
// long-lived consumer, thousands of short-lived threads freeing each other's
// blocks, fork() while other threads allocate, with a child that grows the
// heap) until the time is up, checking every block's contents before it is
// freed. Exits 0 and prints what it did, or non-zero with a message on the
// first failure.
//
// Usage: soak --seconds N --heap=malloc|rusty
//   malloc  malloc/realloc/free: run under LD_PRELOAD=librusty_malloc.so to
//           soak the drop-in
//   rusty   one process-wide RustyMalloc<MmapGrower, SegregatedFreeList>,
//           with pthread_atfork handlers around its lock, and a heap walk
//           (Verify) after each round

#include <pthread.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "allocator/contiguous/rusty_malloc.h"
#include "allocator/contiguous/segregated_freelist.h"
#include "growers/mmap_grower.h"

namespace {

using Clock = std::chrono::steady_clock;
using RustyHeap = rusty_malloc::RustyMalloc<rusty_malloc::MmapGrower,
                                            rusty_malloc::SegregatedFreeList>;

// Never destroyed: a forked child or a late thread may still use it at exit.
union HeapStorage {
  constexpr HeapStorage()
      : heap(rusty_malloc::MmapGrower(std::size_t{32} << 30, 1 << 20)) {}
  ~HeapStorage() {}
  RustyHeap heap;
};
constinit HeapStorage rusty_storage;

bool use_rusty = false;

[[noreturn]] void Fail(const char* format, ...)
    __attribute__((format(printf, 1, 2)));
void Fail(const char* format, ...) {
  // Formatted on the stack and written with write(2): this may run in a
  // forked child, or while the heap under test is broken.
  char line[512] = "soak: FAIL ";
  const std::size_t prefix = std::strlen(line);
  va_list args;
  va_start(args, format);
  std::vsnprintf(line + prefix, sizeof(line) - prefix - 1, format, args);
  va_end(args);
  std::strcat(line, "\n");
  const ssize_t ignored = write(STDERR_FILENO, line, std::strlen(line));
  (void)ignored;
  _exit(1);
}

void* Allocate(std::size_t size) {
  void* p = use_rusty ? rusty_storage.heap.Allocate(size) : std::malloc(size);
  if (p == nullptr) Fail("allocating %zu bytes returned null", size);
  return p;
}

void* Reallocate(void* p, std::size_t size) {
  void* moved = use_rusty ? rusty_storage.heap.Reallocate(p, size)
                          : std::realloc(p, size);
  if (moved == nullptr) Fail("reallocating to %zu bytes returned null", size);
  return moved;
}

void Free(void* p) {
  if (use_rusty) {
    rusty_storage.heap.Deallocate(p);
  } else {
    std::free(p);
  }
}

std::uint64_t Mix(std::uint64_t x) {
  x = (x ^ (x >> 31)) * 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 29)) * 0xbf58476d1ce4e5b9ULL;
  return x ^ (x >> 32);
}

std::uint64_t Word(std::uint64_t seed, std::size_t k) {
  return (seed + k) * 0x9e3779b97f4a7c15ULL ^ (seed >> 7);
}

void Fill(void* block, std::size_t size, std::uint64_t seed) {
  auto* p = static_cast<unsigned char*>(block);
  std::size_t k = 0;
  for (; (k + 1) * 8 <= size; ++k) {
    const std::uint64_t w = Word(seed, k);
    std::memcpy(p + k * 8, &w, 8);
  }
  const std::uint64_t w = Word(seed, k);
  std::memcpy(p + k * 8, &w, size - k * 8);
}

std::atomic<std::uint64_t> bytes_checked{0};

void Check(const void* block, std::size_t size, std::uint64_t seed,
           const char* what) {
  const auto* p = static_cast<const unsigned char*>(block);
  std::size_t k = 0;
  for (; (k + 1) * 8 <= size; ++k) {
    std::uint64_t w;
    std::memcpy(&w, p + k * 8, 8);
    if (w != Word(seed, k)) {
      Fail("%s: block %p of %zu bytes changed at byte %zu", what, block, size,
           k * 8);
    }
  }
  const std::uint64_t last = Word(seed, k);
  if (std::memcmp(p + k * 8, &last, size - k * 8) != 0) {
    Fail("%s: block %p of %zu bytes changed in its last bytes", what, block,
         size);
  }
  bytes_checked.fetch_add(size, std::memory_order_relaxed);
}

struct Block {
  void* data = nullptr;
  std::size_t size = 0;
  std::uint64_t seed = 0;
};

Block MakeBlock(std::size_t size, std::uint64_t seed) {
  Block b{Allocate(size), size, seed};
  Fill(b.data, size, seed);
  return b;
}

void CheckAndFree(const Block& b, const char* what) {
  Check(b.data, b.size, b.seed, what);
  Free(b.data);
}

struct Counts {
  std::atomic<std::uint64_t> allocations{0};
  std::atomic<std::uint64_t> threads{0};
  std::atomic<std::uint64_t> forks{0};
  std::uint64_t rounds = 0;
};
Counts counts;

// Runs `total` threads, `running` at a time, each started as the oldest
// finishes, so lifetimes overlap without piling up.
template <typename Body>
void RunThreads(int total, int running, Body body) {
  std::vector<std::thread> ring(static_cast<std::size_t>(running));
  for (int i = 0; i < total; ++i) {
    std::thread& slot = ring[static_cast<std::size_t>(i % running)];
    if (slot.joinable()) slot.join();
    slot = std::thread(body, i);
  }
  for (std::thread& t : ring) {
    if (t.joinable()) t.join();
  }
  counts.threads.fetch_add(static_cast<std::uint64_t>(total));
}

// Short-lived producers, one long-lived consumer; most blocks are freed
// after the thread that allocated them has exited. One producer per round
// fills more than two 4 MiB chunks with blocks of one size class, waits
// until the consumer has freed the later half, and exits before the
// consumer frees the earlier half: its exit and the next thread's adoption
// of its heap then each empty part of a chunk, which once crashed the
// per-thread allocator.
void ProducersAndConsumer(std::uint64_t round) {
  constexpr int kProducers = 64;
  constexpr int kItems = 100;
  constexpr int kBulkProducer = 5;
  constexpr int kBulkItems = 130 * 64;  // 130 pages of 1 KiB blocks.
  constexpr int kTotal = (kProducers - 1) * kItems + kBulkItems;
  enum class Kind { kFree, kBulkFree, kHold };
  struct Entry {
    Block block;
    Kind kind;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Entry> queue;
  bool producers_joined = false;
  std::atomic<int> bulk_freed{0};
  std::thread consumer([&] {
    std::vector<Block> held;
    for (int n = 0; n < kTotal; ++n) {
      Entry e;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return !queue.empty(); });
        e = queue.front();
        queue.pop_front();
      }
      if (e.kind == Kind::kHold) {
        Check(e.block.data, e.block.size, e.block.seed, "held queue item");
        held.push_back(e.block);
        continue;
      }
      CheckAndFree(e.block, "queue item");
      if (e.kind == Kind::kBulkFree) bulk_freed.fetch_add(1);
    }
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return producers_joined; });
    lock.unlock();
    for (const Block& b : held) CheckAndFree(b, "held queue item");
  });
  auto push = [&](const Block& b, Kind kind) {
    {
      std::lock_guard<std::mutex> lock(mu);
      queue.push_back({b, kind});
    }
    cv.notify_all();
  };
  RunThreads(kProducers, 8, [&](int producer) {
    const std::uint64_t base = round << 32 | std::uint64_t(producer) << 16;
    if (producer != kBulkProducer) {
      for (std::uint64_t i = 0; i < kItems; ++i) {
        const std::uint64_t h = Mix(base | i);
        push(MakeBlock(600 + h % 9001, h), Kind::kFree);
      }
      counts.allocations.fetch_add(kItems, std::memory_order_relaxed);
      return;
    }
    std::vector<Block> blocks;
    for (std::uint64_t i = 0; i < kBulkItems; ++i) {
      const std::uint64_t h = Mix(base | i);
      blocks.push_back(MakeBlock(897 + h % 128, h));  // All in one class.
    }
    for (int i = kBulkItems / 2; i < kBulkItems; ++i) {
      push(blocks[static_cast<std::size_t>(i)], Kind::kBulkFree);
    }
    while (bulk_freed.load() < kBulkItems - kBulkItems / 2) {
      std::this_thread::yield();
    }
    for (int i = 0; i < kBulkItems / 2; ++i) {
      push(blocks[static_cast<std::size_t>(i)], Kind::kHold);
    }
    counts.allocations.fetch_add(kBulkItems, std::memory_order_relaxed);
  });
  {
    std::lock_guard<std::mutex> lock(mu);
    producers_joined = true;
  }
  cv.notify_all();
  consumer.join();
}

// Short-lived threads pass blocks on through a slot array and free what
// earlier threads left there.
void ThreadChurn(std::uint64_t round) {
  constexpr int kThreads = 256;
  constexpr int kBlocks = 24;
  constexpr std::size_t kSlots = 64;
  std::mutex mu;
  std::vector<Block> slots(kSlots);
  RunThreads(kThreads, 8, [&](int thread) {
    for (int j = 0; j < kBlocks; ++j) {
      const std::uint64_t h = Mix(round << 32 | std::uint64_t(thread) << 8 |
                                  static_cast<std::uint64_t>(j));
      const unsigned r = h % 100;
      const std::size_t size = r < 70   ? 1 + (h >> 8) % 2048
                               : r < 95 ? 2049 + (h >> 8) % 30720
                                        : 32769 + (h >> 8) % 200000;
      Block mine;
      if (j % 4 == 1) {
        // Grown by reallocation, which must keep the contents.
        mine = MakeBlock(size / 2 + 1, ~h);
        Check(mine.data, mine.size, mine.seed, "before reallocation");
        mine.data = Reallocate(mine.data, size);
        Check(mine.data, mine.size, mine.seed, "after reallocation");
        mine.size = size;
        mine.seed = h;
        Fill(mine.data, size, h);
      } else {
        mine = MakeBlock(size, h);
      }
      if (j % 2 == 0) {
        CheckAndFree(mine, "churn, own block");
        continue;
      }
      Block earlier;
      {
        std::lock_guard<std::mutex> lock(mu);
        Block& slot = slots[(static_cast<std::size_t>(thread) * 7 +
                             static_cast<std::size_t>(j)) %
                            kSlots];
        earlier = slot;
        slot = mine;
      }
      if (earlier.data != nullptr) {
        CheckAndFree(earlier, "churn, block of an earlier thread");
      }
    }
    counts.allocations.fetch_add(kBlocks, std::memory_order_relaxed);
  });
  for (const Block& b : slots) {
    if (b.data != nullptr) CheckAndFree(b, "churn, left in a slot");
  }
}

// The child allocates past anything the parent had, so the heap must grow
// in the child: a lock left held at fork() would deadlock here.
void ChildWork(const std::vector<Block>& inherited) {
  constexpr int kChildSeconds = 30;
  alarm(kChildSeconds);  // A deadlock kills the child instead of hanging.
  for (const Block& b : inherited) CheckAndFree(b, "child, block from parent");
  constexpr std::size_t kSmall = 64 * 1024;  // 64 MiB of 1 KiB blocks.
  constexpr std::size_t kLarge = 32;         // 100 KiB each.
  auto* small = static_cast<void**>(Allocate(kSmall * sizeof(void*)));
  auto* large = static_cast<void**>(Allocate(kLarge * sizeof(void*)));
  for (std::size_t i = 0; i < kSmall; ++i) {
    small[i] = Allocate(1024);
    Fill(small[i], 1024, i);
  }
  for (std::size_t i = 0; i < kLarge; ++i) {
    large[i] = Allocate(100 * 1024);
    Fill(large[i], 100 * 1024, ~i);
  }
  for (std::size_t i = 0; i < kSmall; ++i) {
    Check(small[i], 1024, i, "child, 1 KiB block");
    Free(small[i]);
  }
  for (std::size_t i = 0; i < kLarge; ++i) {
    Check(large[i], 100 * 1024, ~i, "child, 100 KiB block");
    Free(large[i]);
  }
  Free(small);
  Free(large);
  if (use_rusty && !rusty_storage.heap.Verify().ok()) {
    Fail("child: the heap is broken after fork");
  }
  _exit(0);
}

void ForkWhileAllocating(std::uint64_t round) {
  constexpr int kWorkers = 4;
  constexpr int kForks = 2;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> worker_rounds{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      Block live[64];
      for (std::uint64_t r = 0; !stop.load(std::memory_order_relaxed); ++r) {
        for (int i = 0; i < 64; ++i) {
          const std::uint64_t h = Mix(round << 40 | std::uint64_t(w) << 36 |
                                      r << 8 | static_cast<std::uint64_t>(i));
          live[i] = MakeBlock(
              (h & 15) == 0 ? 32769 + (h >> 8) % 100000 : 1 + (h >> 8) % 4096,
              h);
        }
        for (int i = 0; i < 64; ++i) {
          CheckAndFree(live[(i * 37 + static_cast<int>(r)) % 64],
                       "fork worker");
        }
        counts.allocations.fetch_add(64, std::memory_order_relaxed);
        worker_rounds.fetch_add(1);
      }
    });
  }
  for (int f = 0; f < kForks; ++f) {
    // Fork only once the workers are busy.
    const std::uint64_t seen = worker_rounds.load();
    while (worker_rounds.load() < seen + kWorkers) std::this_thread::yield();
    std::vector<Block> inherited;
    for (std::uint64_t i = 0; i < 200; ++i) {
      const std::uint64_t h = Mix(round << 24 | std::uint64_t(f) << 12 | i);
      inherited.push_back(MakeBlock(16 + h % 5000, h));
    }
    const pid_t child = fork();
    if (child < 0) Fail("fork failed");
    if (child == 0) ChildWork(inherited);
    int status = 0;
    if (waitpid(child, &status, 0) != child) Fail("waitpid failed");
    if (WIFSIGNALED(status)) {
      Fail("fork child killed by signal %d%s", WTERMSIG(status),
           WTERMSIG(status) == SIGALRM ? " (deadlocked)" : "");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      Fail("fork child exited with status %d", WEXITSTATUS(status));
    }
    for (const Block& b : inherited) CheckAndFree(b, "parent after fork");
    counts.forks.fetch_add(1);
  }
  stop.store(true);
  for (std::thread& t : workers) t.join();
}

void PrepareFork() { rusty_storage.heap.LockForFork(); }
void AfterForkInParent() { rusty_storage.heap.UnlockAfterFork(); }
void AfterForkInChild() { rusty_storage.heap.UnlockAfterForkInChild(); }

[[noreturn]] void Usage() {
  std::fprintf(stderr, "usage: soak --seconds N --heap=malloc|rusty\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  long seconds = -1;
  std::string heap;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::strtol(argv[++i], nullptr, 10);
    } else if (arg.rfind("--seconds=", 0) == 0) {
      seconds = std::strtol(arg.c_str() + 10, nullptr, 10);
    } else if (arg.rfind("--heap=", 0) == 0) {
      heap = arg.substr(7);
    } else {
      Usage();
    }
  }
  if (seconds < 0 || (heap != "malloc" && heap != "rusty")) Usage();
  use_rusty = heap == "rusty";
  if (use_rusty) {
    const int error =
        pthread_atfork(PrepareFork, AfterForkInParent, AfterForkInChild);
    if (error != 0) Fail("pthread_atfork: %s", std::strerror(error));
  }
  // Rounds start until the time is up, so a run lasts a round longer.
  const Clock::time_point deadline =
      Clock::now() + std::chrono::seconds(seconds);
  do {
    const std::uint64_t round = counts.rounds++;
    ProducersAndConsumer(round);
    ThreadChurn(round);
    ForkWhileAllocating(round);
    if (use_rusty) {
      const rusty_malloc::HeapReport report = rusty_storage.heap.Verify();
      if (!report.ok()) {
        Fail("heap broken after round %llu: %s at %p",
             static_cast<unsigned long long>(round), report.broken,
             report.where);
      }
    }
  } while (Clock::now() < deadline);
  std::printf(
      "soak --heap=%s: %llu rounds, %llu threads, %llu allocations, %llu "
      "forks, %llu MiB checked\n",
      heap.c_str(), static_cast<unsigned long long>(counts.rounds),
      static_cast<unsigned long long>(counts.threads.load()),
      static_cast<unsigned long long>(counts.allocations.load()),
      static_cast<unsigned long long>(counts.forks.load()),
      static_cast<unsigned long long>(bytes_checked.load() >> 20));
  return 0;
}
