// Reclaiming idle heaps' free pages (ReclaimIdleHeaps): which pages it takes,
// which it leaves, and that it races owners and remote frees safely.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <thread>
#include <type_traits>
#include <vector>

#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/size_classes.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"
#include "testing/patterns.h"
#include "testing/per_thread_lifecycle.h"
#include "testing/per_thread_sources.h"
#include "testing/resident.h"

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

// Pages of the owner's blocks that other threads freed while the owner
// waits: every page but its queue's front goes out of use once the owner
// has been idle between two reclaims, and comes back when it allocates.
TYPED_TEST(PerThreadLifecycleTest, AnIdleThreadsFreedPagesAreReclaimed) {
  auto& heap = this->heap();
  constexpr std::size_t kPerPage = kPageSize / kBlock;
  constexpr std::size_t kPages = 5;
  std::vector<Letter> blocks;
  Gate allocated, reclaimed_twice;
  std::thread owner([&] {
    blocks = AllocateBlocks(heap, kPages * kPerPage, 0);
    allocated.Open();
    // Idle until the main thread has reclaimed twice.
    reclaimed_twice.Wait();
    std::vector<Letter> again = AllocateBlocks(heap, kPages * kPerPage, 1000);
    EXPECT_EQ(CheckAndFreeAll(heap, again), 0);
  });
  allocated.Wait();
  ASSERT_EQ(blocks.size(), kPages * kPerPage);
  std::vector<std::byte*> pages;
  for (std::size_t i = 0; i < blocks.size(); i += kPerPage) {
    pages.push_back(PageOf(blocks[i].block)->start);
  }
  PageInfo* const front = PageOf(blocks.back().block);
  std::thread([&] {
    EXPECT_EQ(CheckAndFreeAll(heap, blocks), 0);
    heap.FlushRemoteFrees();
  }).join();

  heap.ReclaimIdleHeaps();  // Notes where the owner's slow paths stand.
  const std::size_t reclaimed = heap.ReclaimIdleHeaps();
  EXPECT_GE(reclaimed, (kPages - 1) * kPageSize);
  for (std::byte* start : pages) {
    if (PageOf(start) == front) {
      EXPECT_EQ(PageOf(start)->size_class, SizeClassOf(kRequest))
          << "the page serving the owner's fast path was taken";
      continue;
    }
    EXPECT_EQ(PageOf(start)->size_class, kPageUnused);
    if constexpr (std::is_same_v<TypeParam, MmapSourced>) {
      EXPECT_EQ(ResidentPages(start, kPageSize), 0u);
    }
  }
  ExpectConsistent(heap, 0);
  reclaimed_twice.Open();
  owner.join();
  ExpectConsistent(heap, 0);
}

// A page with a block its owner still holds, or with a block still on its
// way to the remote list, is not free; nor is a page of a busy heap.
TYPED_TEST(PerThreadLifecycleTest, ReclaimTakesOnlyPagesWithNoBlockInUse) {
  auto& heap = this->heap();
  constexpr std::size_t kPerPage = kPageSize / kBlock;
  std::vector<Letter> blocks;
  Gate allocated, checked;
  std::thread owner([&] {
    blocks = AllocateBlocks(heap, 3 * kPerPage, 0);
    allocated.Open();
    checked.Wait();
    EXPECT_EQ(CheckAndFreeAll(heap, {blocks[0]}), 0);
  });
  allocated.Wait();
  // The first page keeps the owner's first block; the second is freed
  // whole; the third is the front.
  std::vector<Letter> others(blocks.begin() + 1, blocks.end());
  std::thread([&] {
    EXPECT_EQ(CheckAndFreeAll(heap, others), 0);
    heap.FlushRemoteFrees();
  }).join();
  heap.ReclaimIdleHeaps();
  EXPECT_EQ(heap.ReclaimIdleHeaps(), kPageSize);
  EXPECT_EQ(PageOf(blocks[0].block)->size_class, SizeClassOf(kRequest));
  EXPECT_TRUE(Intact(blocks[0]));
  EXPECT_EQ(PageOf(blocks[kPerPage].block)->size_class, kPageUnused);
  EXPECT_EQ(PageOf(blocks.back().block)->size_class, SizeClassOf(kRequest));
  ExpectConsistent(heap, 1);
  checked.Open();
  owner.join();
  ExpectConsistent(heap, 0);
}

// Owners allocate and free in bursts with pauses, other threads free their
// blocks, and a thread reclaims all along: under TSan, the proof that a
// reclaim touches nothing an owner's fast path writes unordered.
TYPED_TEST(PerThreadLifecycleTest, ReclaimRacesOwnersAndRemoteFrees) {
  auto& heap = this->heap();
  constexpr int kOwners = 3;
  const int rounds = kTsan ? 60 : 600;
  LetterQueue queue;
  std::atomic<bool> stop{false};
  std::atomic<int> damaged{0};
  std::thread reclaimer([&] {
    while (!stop.load()) {
      heap.ReclaimIdleHeaps();
      std::this_thread::yield();
    }
  });
  std::thread freer([&] {
    Letter l;
    while (!stop.load() || queue.size() != 0) {
      if (queue.Take(&l)) {
        damaged += CheckAndFree(heap, l) ? 0 : 1;
      } else {
        heap.FlushRemoteFrees();
        std::this_thread::yield();
      }
    }
    heap.FlushRemoteFrees();
  });
  std::vector<std::thread> owners;
  for (int t = 0; t < kOwners; ++t) {
    owners.emplace_back([&, t] {
      std::mt19937 random(t);
      std::vector<Letter> mine;
      for (int round = 0; round < rounds; ++round) {
        const std::size_t size = 16 + random() % 2000;
        for (int i = 0; i < 64; ++i) {
          void* p = heap.Allocate(size);
          if (p == nullptr) {
            ADD_FAILURE() << "allocation failed";
            return;
          }
          const std::uint64_t id = (std::uint64_t(t) << 40) | (round << 8) | i;
          FillPattern(p, size, id);
          mine.push_back({p, size, id});
        }
        // Half to the freer, some freed here, the rest kept a while.
        std::shuffle(mine.begin(), mine.end(), random);
        while (mine.size() > 32) {
          if (random() % 2 == 0) {
            queue.Post(mine.back());
          } else {
            damaged += CheckAndFree(heap, mine.back()) ? 0 : 1;
          }
          mine.pop_back();
        }
        if (round % 8 == 0) {
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
      }
      damaged += CheckAndFreeAll(heap, mine);
    });
  }
  for (std::thread& t : owners) t.join();
  stop = true;
  freer.join();
  reclaimer.join();
  EXPECT_EQ(damaged.load(), 0);
  ExpectIntact(heap);
  EXPECT_EQ(heap.Stats().allocated_bytes, 0u);
}

}  // namespace
}  // namespace rusty_malloc::testing
