// Heaps that outlive their threads and are adopted: the oldest first, with
// their pending remote frees collected before they grow, and thousands of
// short-lived threads bounded by how many are alive at once.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <latch>
#include <random>
#include <thread>
#include <vector>

#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/size_classes.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"
#include "testing/patterns.h"
#include "testing/per_thread_lifecycle.h"
#include "testing/per_thread_sources.h"

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

TYPED_TEST(PerThreadLifecycleTest, AnAdoptedHeapCollectsFreesBeforeGrowing) {
  auto& heap = this->heap();
  std::vector<Letter> blocks;
  std::thread([&] { blocks = AllocateAsOwner(heap); }).join();
  ASSERT_EQ(heap.HeapCount(), 1u);
  const std::vector<std::vector<Letter>> chunks = GroupByChunk(blocks);
  ASSERT_EQ(chunks.size(), 3u);
  ASSERT_EQ(chunks[1].size(), kSecondChunkBlocks);

  // Remote frees into the abandoned heap stay pending: nobody collects them.
  std::atomic<int> damaged{0};
  std::thread([&] { damaged += CheckAndFreeAll(heap, chunks[1]); }).join();
  ExpectConsistent(heap, blocks.size() - kSecondChunkBlocks);
  EXPECT_EQ(heap.Stats().heap_bytes, 3 * kChunkSize);

  // Adoption itself walks nothing: thread churn stays cheap.
  std::vector<Letter> more;
  std::thread([&] {
    void* p = heap.Allocate(kRequest);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(heap.HeapCount(), 1u) << "the heap was not adopted";
    EXPECT_EQ(heap.Stats().heap_bytes, 3 * kChunkSize);
    heap.Deallocate(p);
    // Growing past the third chunk collects first: the emptied chunk goes
    // back to the source and is taken again, so three chunks, not four.
    more = AllocateBlocks(heap, kBlocksPerChunk, 1 << 20);
    EXPECT_EQ(heap.Stats().heap_bytes, 3 * kChunkSize)
        << "the adopter grew before collecting the emptied chunk";
    ExpectIntact(heap);
  }).join();
  EXPECT_EQ(heap.HeapCount(), 1u);
  ExpectConsistent(heap, blocks.size() - kSecondChunkBlocks + more.size());

  damaged += CheckAndFreeAll(heap, chunks[0]) +
             CheckAndFreeAll(heap, chunks[2]) + CheckAndFreeAll(heap, more);
  EXPECT_EQ(damaged.load(), 0);
  ExpectConsistent(heap, 0);
}

TYPED_TEST(PerThreadLifecycleTest, TheHeapAbandonedFirstIsAdoptedFirst) {
  auto& heap = this->heap();
  // Two threads with heaps of their own at once; the first exits first.
  void* older = nullptr;
  void* newer = nullptr;
  std::latch both_have_heaps(2);
  std::latch older_gone(1);
  std::thread first([&] {
    older = heap.Allocate(kRequest);
    both_have_heaps.arrive_and_wait();
  });
  std::thread second([&] {
    newer = heap.Allocate(kRequest);
    both_have_heaps.arrive_and_wait();
    older_gone.wait();
  });
  first.join();
  older_gone.count_down();
  second.join();
  ASSERT_EQ(heap.HeapCount(), 2u);
  ASSERT_NE(ChunkOf(older), ChunkOf(newer));

  // Its blocks have had the longest to be freed: a successor that starts
  // before its predecessor exits must not take the newest heap, full of
  // blocks still in use, while emptied ones wait.
  for (void* expected : {older, newer}) {
    std::thread([&] {
      void* p = heap.Allocate(kRequest);
      EXPECT_EQ(ChunkOf(p), ChunkOf(expected)) << "adopted out of order";
      heap.Deallocate(p);
    }).join();
  }
  EXPECT_EQ(heap.HeapCount(), 2u);
  heap.Deallocate(older);
  heap.Deallocate(newer);
  ExpectConsistent(heap, 0);
}

TYPED_TEST(PerThreadLifecycleTest, AdoptionKeepsAnEmptiedChunkWithAFrontPage) {
  auto& heap = this->heap();
  std::vector<Letter> blocks;
  std::thread([&] { blocks = AllocateBlocks(heap, kOwnerBlocks, 0); }).join();
  const std::vector<std::vector<Letter>> chunks = GroupByChunk(blocks);
  ASSERT_EQ(chunks.size(), 3u);
  // The newest chunk holds the page the class allocates from next.
  std::atomic<int> damaged{0};
  std::thread([&] { damaged += CheckAndFreeAll(heap, chunks[2]); }).join();
  std::vector<Letter> more;
  std::thread([&] {
    heap.Deallocate(heap.Allocate(kRequest));
    EXPECT_EQ(heap.HeapCount(), 1u);
    EXPECT_EQ(heap.Stats().heap_bytes, 3 * kChunkSize);
    more = AllocateBlocks(heap, chunks[2].size(), 1 << 20);
    // Refilled in place: no new chunk.
    EXPECT_EQ(heap.Stats().heap_bytes, 3 * kChunkSize);
  }).join();
  ExpectConsistent(heap, blocks.size());
  damaged += CheckAndFreeAll(heap, chunks[0]) +
             CheckAndFreeAll(heap, chunks[1]) + CheckAndFreeAll(heap, more);
  EXPECT_EQ(damaged.load(), 0);
  ExpectConsistent(heap, 0);
}

TYPED_TEST(PerThreadLifecycleTest, ThousandsOfShortLivedThreadsHandBlocksOn) {
  auto& heap = this->heap();
  constexpr int kThreads = 2000;
  // At most this many threads live at once, so adoption bounds the heaps:
  // a heap is made only when none is abandoned, that is when every heap
  // belongs to a live thread.
  constexpr std::size_t kLive = 4;
  LetterQueue queue;
  std::atomic<int> failures{0};
  auto fail = [&failures](const char* what, std::uint64_t detail) {
    if (failures.fetch_add(1) < 10) ADD_FAILURE() << what << " " << detail;
  };
  auto worker = [&](std::uint64_t t) {
    std::mt19937_64 random(t);
    std::vector<Letter> mine;
    for (std::uint64_t i = 0; i < 48; ++i) {
      const unsigned kind = random() % 100;
      const std::size_t size = kind < 2    ? kSmallMax + 1 + random() % 60000
                               : kind < 6  ? kSmallMax - random() % 8000
                               : kind < 40 ? kRequest
                                           : random() % 1500;
      void* p = heap.Allocate(size);
      if (p == nullptr) return fail("allocation failed", size);
      const std::uint64_t id = (t << 20) | i;
      FillPattern(p, size, id);
      mine.push_back({p, size, id});
    }
    // Earlier threads' blocks: remote frees into heaps that are live,
    // abandoned, or adopted by now.
    Letter letter;
    for (int i = 0; i < 40 && queue.Take(&letter); ++i) {
      if (!CheckAndFree(heap, letter))
        fail("handed-on block damaged", letter.id);
    }
    for (std::size_t i = 0; i < mine.size(); ++i) {
      if (i % 2 == 0) {
        queue.Post(mine[i]);  // Outlives this thread.
      } else if (!CheckAndFree(heap, mine[i])) {
        fail("own block damaged", mine[i].id);
      }
    }
  };
  std::deque<std::thread> running;
  std::size_t most_heaps = 0;
  for (int t = 0; t < kThreads && failures.load() == 0; ++t) {
    if (running.size() == kLive) {
      running.front().join();
      running.pop_front();
    }
    running.emplace_back(worker, static_cast<std::uint64_t>(t));
    most_heaps = std::max(most_heaps, heap.HeapCount());
  }
  for (std::thread& t : running) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(most_heaps, kLive);
  EXPECT_LE(heap.HeapCount(), kLive);
  Letter letter;
  while (queue.Take(&letter)) {
    EXPECT_TRUE(CheckAndFree(heap, letter)) << letter.id;
  }
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

TYPED_TEST(PerThreadMallocTest, HeapsOfExitedThreadsAreAdoptedNotLeaked) {
  auto& heap = this->heap();
  std::vector<void*> survivors;
  for (int round = 0; round < 50; ++round) {
    std::thread t([&heap, &survivors] {
      for (int i = 0; i < 100; ++i) heap.Deallocate(heap.Allocate(200));
      survivors.push_back(heap.Allocate(300));  // Outlives its thread.
    });
    t.join();
  }
  // One thread at a time: each new one adopted the last one's heap.
  EXPECT_LE(heap.HeapCount(), 2u);
  for (void* p : survivors) heap.Deallocate(p);
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

}  // namespace
}  // namespace rusty_malloc::testing
