// Remote frees that empty one of a thread's chunks before, after and while
// it exits: the exiting thread collects and releases what they emptied, and
// the heap it abandons stays consistent for the thread that adopts it.

#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

#include "allocator/per_thread/chunk.h"
#include "gtest/gtest.h"
#include "testing/per_thread_lifecycle.h"

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

// When the other thread's frees that empty the owner's second chunk happen,
// relative to the owner's exit (which collects remote frees and retires the
// pages they emptied, see ThreadHeap::CollectAll).
enum class RemoteFrees {
  kBeforeExit,
  kAfterExit,  // Into the abandoned heap.
  kHalfBeforeHalfAfter,
  kDuringExit,  // Racing the exiting thread's CollectAll.
};

template <typename Heap>
void EmptyAChunkAroundOwnerExit(Heap& heap, RemoteFrees when) {
  std::vector<Letter> blocks;
  Gate allocated;
  Gate may_exit;
  std::thread owner([&] {
    blocks = AllocateAsOwner(heap);
    allocated.Open();
    if (when != RemoteFrees::kAfterExit) may_exit.Wait();
  });
  allocated.Wait();
  const std::vector<std::vector<Letter>> chunks = GroupByChunk(blocks);
  if (chunks.size() != 3 || chunks[1].size() != kSecondChunkBlocks) {
    may_exit.Open();
    owner.join();
    FAIL() << "expected two full chunks and part of a third, got "
           << chunks.size() << " chunks";
  }
  const std::vector<Letter>& victim = chunks[1];
  std::atomic<int> damaged{0};
  auto free_range = [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      if (!CheckAndFree(heap, victim[i])) ++damaged;
    }
  };
  if (when == RemoteFrees::kDuringExit) {
    std::thread freer([&] {
      may_exit.Open();
      free_range(0, victim.size());
    });
    owner.join();
    freer.join();
  } else {
    const std::size_t before = when == RemoteFrees::kBeforeExit ? victim.size()
                               : when == RemoteFrees::kHalfBeforeHalfAfter
                                   ? victim.size() / 2
                                   : 0;
    std::thread([&] { free_range(0, before); }).join();
    may_exit.Open();
    owner.join();
    std::thread([&] { free_range(before, victim.size()); }).join();
  }
  EXPECT_EQ(damaged.load(), 0);
  // The freeing threads never allocated: they took no heap of their own.
  EXPECT_EQ(heap.HeapCount(), 1u);
  ExpectConsistent(heap, blocks.size() - victim.size());
  for (const std::size_t c : {0, 2}) {
    for (const Letter& l : chunks[c]) ASSERT_TRUE(Intact(l)) << l.id;
  }

  std::vector<Letter> more;
  std::thread adopter([&] {
    void* probe = heap.Allocate(kRequest);
    ASSERT_NE(probe, nullptr);
    EXPECT_EQ(heap.HeapCount(), 1u) << "the heap was not adopted";
    heap.Deallocate(probe);
    more = AllocateBlocks(heap, kBlocksPerChunk, 1 << 20);
    // The rest of the third chunk, then, before growing, every remote free
    // collected and the emptied chunk back at the source, and taken again:
    // three chunks, not four.
    EXPECT_EQ(heap.Stats().heap_bytes, 3 * kChunkSize);
  });
  adopter.join();
  ExpectConsistent(heap, blocks.size() - victim.size() + more.size());

  damaged += CheckAndFreeAll(heap, chunks[0]) +
             CheckAndFreeAll(heap, chunks[2]) + CheckAndFreeAll(heap, more);
  EXPECT_EQ(damaged.load(), 0);
  ExpectConsistent(heap, 0);
  // The next adopter's malloc_trim collects those frees too and gives every
  // chunk back.
  std::thread([&heap] {
    heap.Deallocate(heap.Allocate(kRequest));
    heap.ReleaseFreeMemory();
    EXPECT_EQ(heap.Stats().heap_bytes, 0u);
  }).join();
  EXPECT_EQ(heap.HeapCount(), 1u);
  ExpectConsistent(heap, 0);
}

TYPED_TEST(PerThreadLifecycleTest, OwnerExitsAfterRemoteFreesEmptiedAChunk) {
  auto& heap = this->heap();
  EmptyAChunkAroundOwnerExit(heap, RemoteFrees::kBeforeExit);
}

TYPED_TEST(PerThreadLifecycleTest, RemoteFreesEmptyAChunkOfAnAbandonedHeap) {
  auto& heap = this->heap();
  EmptyAChunkAroundOwnerExit(heap, RemoteFrees::kAfterExit);
}

TYPED_TEST(PerThreadLifecycleTest, ChunkEmptiesHalfBeforeAndHalfAfterExit) {
  auto& heap = this->heap();
  EmptyAChunkAroundOwnerExit(heap, RemoteFrees::kHalfBeforeHalfAfter);
}

TYPED_TEST(PerThreadLifecycleTest, RemoteFreesRaceTheOwnersExit) {
  // Each round a different interleaving, on a fresh allocator.
  const int rounds = kTsan ? 6 : 20;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(round);
    auto heap = TypeParam::Make();
    EmptyAChunkAroundOwnerExit(*heap, RemoteFrees::kDuringExit);
    if (::testing::Test::HasFailure()) return;
  }
}

}  // namespace
}  // namespace rusty_malloc::testing
