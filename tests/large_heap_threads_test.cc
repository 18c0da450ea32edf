// LargeHeap with threads: fork() while another thread's realloc has its
// block out of the table, and threads using one heap at once.

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

#include "allocator/large/large_heap.h"
#include "gtest/gtest.h"
#include "testing/large_heap_checks.h"

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

// fork() while another thread's Reallocate has its block out of the table
// (the remap hook holds it there): the child, where that thread does not
// exist, holds no slot for it, and its heap works and verifies.
TEST(LargeHeapTest, ForkDuringAnotherThreadsReallocate) {
  LargeHeap heap(NeverPurge());
  bool zeroed = false;
  void* p = heap.Allocate(kMiB, &zeroed);
  ASSERT_NE(p, nullptr);
  struct Gate {
    std::atomic<int> state{0};  // 1: in the hook; 2: let it go.
  } gate;
  heap.set_remap_hook_for_testing(
      [](void* arg) {
        auto* g = static_cast<Gate*>(arg);
        g->state.store(1);
        while (g->state.load() != 2) std::this_thread::yield();
      },
      &gate);
  void* moved = nullptr;
  std::thread reallocating([&] { moved = heap.Reallocate(p, 64 * kMiB); });
  while (gate.state.load() != 1) std::this_thread::yield();
  heap.set_remap_hook_for_testing(nullptr, nullptr);
  heap.LockForFork();
  const pid_t child = fork();
  if (child == 0) {
    heap.UnlockAfterForkInChild();
    alarm(20);
    int failed = heap.ReservedSlotsForTesting() == 0 ? 0 : 1;
    for (int i = 0; i < 100 && failed == 0; ++i) {
      void* q = heap.Allocate((i + 1) * LargeHeap::kOsPage * 64, &zeroed);
      if (q == nullptr || !heap.Verify().ok()) failed = 2;
      if (!heap.TryDeallocate(q)) failed = 3;
    }
    _exit(failed);
  }
  heap.UnlockAfterFork();
  ASSERT_GT(child, 0);
  int status = 0;
  EXPECT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  gate.state.store(2);
  reallocating.join();
  ASSERT_NE(moved, nullptr);
  EXPECT_EQ(heap.ReservedSlotsForTesting(), 0u);
  EXPECT_TRUE(heap.Verify().ok());
  EXPECT_TRUE(heap.TryDeallocate(moved));
}

// Threads allocating, writing, resizing and freeing at once: the table and
// the cache stay consistent (TSan checks the locking).
TEST(LargeHeapTest, ConcurrentUse) {
  LargeHeap heap;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&heap, t] {
      bool zeroed;
      for (int i = 0; i < 200; ++i) {
        const std::size_t size = (1 + (i + t) % 5) * 300000;
        auto* p = static_cast<unsigned char*>(heap.Allocate(size, &zeroed));
        ASSERT_NE(p, nullptr);
        p[0] = static_cast<unsigned char>(t);
        p[size - 1] = static_cast<unsigned char>(i);
        if (i % 3 == 0) {
          p = static_cast<unsigned char*>(heap.Reallocate(p, 2 * size));
          ASSERT_NE(p, nullptr);
        }
        ASSERT_EQ(p[0], static_cast<unsigned char>(t));
        ASSERT_EQ(p[size - 1], static_cast<unsigned char>(i));
        ASSERT_TRUE(heap.TryDeallocate(p));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_TRUE(heap.Verify().ok());
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

}  // namespace
}  // namespace rusty_malloc::testing
