// Frees from threads other than a block's owner: batched per page, handed
// over before a slow path, collected by the owner instead of growing, and
// read by Stats() while in flight.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "allocator/per_thread/chunk.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"
#include "testing/per_thread_lifecycle.h"
#include "testing/per_thread_sources.h"

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

TYPED_TEST(PerThreadMallocTest, RemoteFreesReturnToTheOwner) {
  auto& heap = this->heap();
  std::vector<void*> blocks;
  for (int i = 0; i < 5000; ++i) blocks.push_back(heap.Allocate(64));
  std::thread other([&heap, &blocks] {
    for (void* p : blocks) heap.Deallocate(p);  // Not the owner.
  });
  other.join();
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
  // The owner takes the remote frees over instead of growing.
  const std::size_t heap_bytes = heap.Stats().heap_bytes;
  for (void*& p : blocks) p = heap.Allocate(64);
  EXPECT_EQ(heap.Stats().heap_bytes, heap_bytes);
  for (void* p : blocks) heap.Deallocate(p);
  ExpectIntact(heap);
}

// A thread with a heap of its own frees another heap's blocks in batches:
// 63 frees into one page wait with the freeing thread, the 64th sends them
// all in one push; what waits when the thread exits goes over then.
TYPED_TEST(PerThreadMallocTest, RemoteFreesGoOverInBatchesPerPage) {
  auto& heap = this->heap();
  std::vector<void*> blocks;
  for (int i = 0; i < 100; ++i) blocks.push_back(heap.Allocate(64));
  const PageInfo* page = PageOf(blocks.front());
  ASSERT_EQ(PageOf(blocks.back()), page);
  std::atomic<int> step{0};
  std::thread other([&] {
    heap.Deallocate(heap.Allocate(16));  // A heap of its own.
    for (int i = 0; i < 63; ++i) heap.Deallocate(blocks[i]);
    step = 1;
    while (step != 2) std::this_thread::yield();
    heap.Deallocate(blocks[63]);
    for (int i = 64; i < 100; ++i) heap.Deallocate(blocks[i]);
    step = 3;
    while (step != 4) std::this_thread::yield();
  });
  while (step != 1) std::this_thread::yield();
  EXPECT_EQ(page->remote_count.load(), 0u);
  step = 2;
  while (step != 3) std::this_thread::yield();
  EXPECT_EQ(page->remote_count.load(), 64u);
  step = 4;
  other.join();
  EXPECT_EQ(page->remote_count.load(), 100u);
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

// A thread that only frees, with no heap of its own, sends each block over
// at once; one that allocates again hands its batches over first.
TYPED_TEST(PerThreadMallocTest, RemoteBatchesGoOverBeforeASlowPath) {
  auto& heap = this->heap();
  void* mine = heap.Allocate(64);
  std::thread([&] {
    heap.Deallocate(mine);  // No heap yet: at once.
    EXPECT_EQ(PageOf(mine)->remote_count.load(), 1u);
  }).join();
  std::vector<void*> blocks;
  for (int i = 0; i < 10; ++i) blocks.push_back(heap.Allocate(64));
  // The first block's page, with `mine` on its remote list still.
  const std::uint32_t before = PageOf(blocks[0])->remote_count.load();
  std::thread([&] {
    void* own = heap.Allocate(1000);
    for (void* p : blocks) heap.Deallocate(p);
    EXPECT_EQ(PageOf(blocks[0])->remote_count.load(), before);
    // A class it has no page of yet: the slow path.
    void* other = heap.Allocate(5000);
    EXPECT_EQ(PageOf(blocks[0])->remote_count.load(), before + 10);
    heap.Deallocate(other);
    heap.Deallocate(own);
  }).join();
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

// Pages another thread emptied, of a class the owner no longer asks for,
// are taken back before the owner takes new chunks: 16 MiB of 64-byte blocks
// freed remotely, then 16 MiB of 128-byte blocks, fit in about the chunks
// the first phase needed, not twice as many.
TYPED_TEST(PerThreadMallocTest, PagesEmptiedRemotelyAreReusedForOtherClasses) {
  auto& heap = this->heap();
  std::vector<void*> small;
  for (int i = 0; i < (16 << 20) / 64; ++i) {
    small.push_back(heap.Allocate(64));
    ASSERT_NE(small.back(), nullptr);
  }
  const std::size_t first_phase = heap.Stats().heap_bytes;
  std::thread other([&heap, &small] {
    for (void* p : small) heap.Deallocate(p);  // Not the owner.
  });
  other.join();
  std::vector<void*> larger;
  for (int i = 0; i < (16 << 20) / 128; ++i) {
    larger.push_back(heap.Allocate(128));
    ASSERT_NE(larger.back(), nullptr);
  }
  EXPECT_LE(heap.Stats().heap_bytes, first_phase + 2 * kChunkSize);
  for (void* p : larger) heap.Deallocate(p);
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

// A monitoring thread reads the statistics while three threads free each
// other's blocks: no race (TSan), no crash, and once the threads are joined
// and their remote frees collected, the figures are exact.
TYPED_TEST(PerThreadLifecycleTest, StatsBesideCrossThreadFrees) {
  auto& heap = this->heap();
  constexpr int kChurners = 3;
  constexpr std::size_t kSlots = 2048;
  std::vector<std::atomic<void*>> slots(kSlots);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> churned{0};
  std::vector<std::thread> churners;
  for (int t = 0; t < kChurners; ++t) {
    churners.emplace_back([&, t] {
      std::mt19937_64 random(t + 1);
      while (!stop.load(std::memory_order_relaxed)) {
        const std::uint64_t r = random();
        void* block = heap.Allocate(8 + r % 1000);
        ASSERT_NE(block, nullptr);
        // Mostly blocks another thread allocated: remote frees in flight
        // while their owners collect.
        heap.Deallocate(slots[(r >> 16) % kSlots].exchange(block));
        churned.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  const std::uint64_t rounds = kTsan ? 200 : 2000;
  for (std::uint64_t polls = 0;
       polls < rounds || churned.load(std::memory_order_relaxed) < 20000;
       ++polls) {
    const HeapStats stats = heap.Stats();
    EXPECT_LE(stats.allocated_bytes, stats.heap_bytes);
    EXPECT_LE(stats.allocated_bytes + stats.free_bytes, stats.heap_bytes);
  }
  stop = true;
  for (std::thread& t : churners) t.join();
  // Their heaps are abandoned now; a purge takes over the remote frees.
  heap.ReleaseFreeMemory();
  std::size_t held_blocks = 0, held_bytes = 0;
  for (std::atomic<void*>& slot : slots) {
    if (void* block = slot.load()) {
      ++held_blocks;
      held_bytes += heap.UsableSize(block);
    }
  }
  ExpectIntact(heap);
  const HeapStats stats = heap.Stats();
  EXPECT_EQ(stats.allocated_blocks, held_blocks);
  EXPECT_EQ(stats.allocated_bytes, held_bytes);
  for (std::atomic<void*>& slot : slots) heap.Deallocate(slot.load());
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

}  // namespace
}  // namespace rusty_malloc::testing
