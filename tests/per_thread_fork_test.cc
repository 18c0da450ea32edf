// fork() while threads allocate: the child frees inherited blocks into the
// heaps of threads it does not have, and takes new chunks.

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/size_classes.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"
#include "testing/patterns.h"
#include "testing/per_thread_lifecycle.h"

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

// Threads allocating while ForkWhileThreadsAllocate forks.
constexpr int kForkWorkers = 3;

// The forked child's work; its exit status names what went wrong.
template <typename Heap>
int ChildAllocates(Heap& heap, const std::vector<Letter>& inherited,
                   std::size_t heaps_before_fork) {
  // The workers' heaps are orphans here: not counted.
  if (heap.HeapCount() + kForkWorkers > heaps_before_fork) return 17;
  // Frees into the heaps of threads that do not exist here.
  for (const Letter& l : inherited) {
    if (!CheckAndFree(heap, l)) return 10;
  }
  // More than two chunks of small blocks and some medium ones. The child
  // keeps off the system malloc: the block table is a block too.
  const std::size_t small = kOwnerBlocks;
  constexpr std::size_t kMedium = 12;
  const std::size_t count = small + kMedium;
  auto* table = static_cast<Letter*>(heap.Allocate(count * sizeof(Letter)));
  if (table == nullptr) return 11;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t size =
        i < small ? kRequest : kSmallMax + 1 + (i - small) * 25000;
    void* p = heap.Allocate(size);
    if (p == nullptr) return 12;
    FillPattern(p, size, i);
    table[i] = {p, size, i};
  }
  if (heap.Stats().heap_bytes < 3 * kChunkSize) return 13;
  for (std::size_t i = 0; i < count; ++i) {
    if (!Intact(table[i])) return 14;
  }
  if (!heap.Verify().ok()) return 15;
  for (std::size_t i = 0; i < count; ++i) heap.Deallocate(table[i].block);
  heap.Deallocate(table);
  if (!heap.Verify().ok()) return 16;
  return 0;
}

template <typename Heap>
void ForkWhileThreadsAllocate(Heap& heap_ref) {
  Heap* const heap = &heap_ref;
  const int forks = kTsan ? 8 : 20;
  constexpr int kWorkers = kForkWorkers;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> progress{0};
  std::atomic<int> failures{0};
  LetterQueue handoff;
  auto worker = [&](std::uint64_t t) {
    std::mt19937_64 random(t);
    std::vector<Letter> kept;
    std::uint64_t id = t << 40;
    while (!stop.load(std::memory_order_relaxed)) {
      const std::size_t size = random() % 8 == 0
                                   ? kSmallMax + 1 + random() % 100000
                                   : random() % 3000;
      void* p = heap->Allocate(size);
      if (p == nullptr) {
        ++failures;
        break;
      }
      FillPattern(p, size, id);
      kept.push_back({p, size, id++});
      if (kept.size() > 64) {
        const std::size_t victim = random() % kept.size();
        if (!CheckAndFree(*heap, kept[victim])) ++failures;
        kept[victim] = kept.back();
        kept.pop_back();
      }
      if (random() % 16 == 0 && handoff.size() < 256) {
        handoff.Post(kept.back());
        kept.pop_back();
      }
      progress.fetch_add(1, std::memory_order_relaxed);
    }
    for (const Letter& l : kept) {
      if (!CheckAndFree(*heap, l)) ++failures;
    }
  };
  std::vector<std::thread> workers;
  std::atomic<int> bound{0};  // Workers with a heap of their own.
  for (int t = 0; t < kWorkers; ++t) {
    workers.emplace_back(
        [&](std::uint64_t seed) {
          heap->Deallocate(heap->Allocate(16));
          ++bound;
          worker(seed);
        },
        static_cast<std::uint64_t>(t + 1));
  }
  while (bound.load() != kWorkers) std::this_thread::yield();
  for (int f = 0; f < forks; ++f) {
    // Forks land while the workers are busy, not before they start.
    const std::uint64_t seen = progress.load();
    while (progress.load() < seen + 200 && failures.load() == 0) {
      std::this_thread::yield();
    }
    std::vector<Letter> inherited;
    Letter letter;
    while (inherited.size() < 16 && handoff.Take(&letter)) {
      inherited.push_back(letter);
    }
    // Every worker has its heap by now, and the main thread none.
    const std::size_t heaps_before_fork = heap->HeapCount();
    // What pthread_atfork does for the global heap.
    heap->LockForFork();
    const pid_t child = fork();
    if (child == 0) {
      heap->UnlockAfterForkInChild();
      alarm(20);  // A deadlock fails the test instead of hanging it.
      _exit(ChildAllocates(*heap, inherited, heaps_before_fork));
    }
    heap->UnlockAfterFork();
    if (child < 0) {
      ADD_FAILURE() << "fork: " << std::strerror(errno);
      break;
    }
    int status = 0;
    EXPECT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "fork " << f << ": "
        << (WIFEXITED(status)
                ? "child exited with " + std::to_string(WEXITSTATUS(status))
                : "child killed by signal " + std::to_string(WTERMSIG(status)));
    for (const Letter& l : inherited) {
      EXPECT_TRUE(CheckAndFree(*heap, l)) << l.id;
    }
  }
  stop = true;
  for (std::thread& t : workers) t.join();
  EXPECT_EQ(failures.load(), 0);
  Letter letter;
  while (handoff.Take(&letter)) {
    EXPECT_TRUE(CheckAndFree(*heap, letter)) << letter.id;
  }
  ExpectIntact(*heap);
  EXPECT_EQ(heap->Stats().allocated_blocks, 0u);
}

TYPED_TEST(PerThreadLifecycleTest,
           ForkedChildGetsNewChunksWhileThreadsAllocate) {
  using Source = std::remove_reference_t<decltype(this->heap().source())>;
  if constexpr (!requires(Source & s) { s.LockForFork(); }) {
    GTEST_SKIP() << "the chunk source has no fork hooks, so "
                    "PerThreadMalloc::LockForFork does not compile for it";
  } else {
    ForkWhileThreadsAllocate(this->heap());
  }
}

}  // namespace
}  // namespace rusty_malloc::testing
