// LargeHeap, one mapping per block: fresh blocks, reuse of kept mappings
// (whole, cut or grown, never overlapping), remaps, realloc, and pointers
// and sizes it refuses.

#include "allocator/large/large_heap.h"

#include <errno.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "allocator/common/heap_report.h"
#include "gtest/gtest.h"
#include "testing/large_heap_checks.h"

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

TEST(LargeHeapTest, FreshBlocksArePageAlignedWholePagesAndZero) {
  LargeHeap heap;
  bool zeroed = false;
  auto* p = static_cast<unsigned char*>(heap.Allocate(kMiB + 1, &zeroed));
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(zeroed);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % LargeHeap::kOsPage, 0u);
  EXPECT_EQ(heap.UsableSize(p), kMiB + LargeHeap::kOsPage);
  EXPECT_EQ(p[0] | p[kMiB], 0);
  std::memset(p, 0xab, heap.UsableSize(p));
  EXPECT_TRUE(heap.Verify().ok());
  EXPECT_EQ(heap.Stats().allocated_blocks, 1u);
  EXPECT_TRUE(heap.TryDeallocate(p));
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

TEST(LargeHeapTest, AFreedBlockIsReusedAndReportedDirty) {
  LargeHeap heap(NeverPurge());
  bool zeroed = true;
  void* p = heap.Allocate(4 * kMiB, &zeroed);
  ASSERT_NE(p, nullptr);
  std::memset(p, 0xab, 4 * kMiB);
  ASSERT_TRUE(heap.TryDeallocate(p));
  EXPECT_EQ(heap.Stats().free_bytes, 4 * kMiB);
  // Much smaller than the kept range: cut from its start, the rest kept
  // for other requests.
  constexpr std::size_t kSmall = 4 * kMiB / (2 * LargeHeap::kReuseWholeFactor);
  void* q = heap.Allocate(kSmall, &zeroed);
  EXPECT_EQ(q, p);
  EXPECT_FALSE(zeroed);
  EXPECT_EQ(heap.UsableSize(q), kSmall);
  EXPECT_TRUE(Mapped(static_cast<char*>(p) + kSmall));
  EXPECT_EQ(heap.Stats().free_bytes, 4 * kMiB - kSmall);
  EXPECT_TRUE(heap.Verify().ok());
  EXPECT_TRUE(heap.TryDeallocate(q));
  EXPECT_TRUE(heap.Verify().ok());
  heap.ReleaseCached();
  EXPECT_FALSE(Mapped(p));
  EXPECT_FALSE(Mapped(static_cast<char*>(p) + kSmall));
}

// A freed block's pages serve a smaller request without a new mapping: whole
// when it is within kReuseWholeFactor of the size, cut from the front when
// it is much smaller, the rest staying for the next requests.
TEST(LargeHeapTest, AKeptRangeServesSmallerRequestsWithoutNewMappings) {
  LargeHeap heap(NeverPurge());
  bool zeroed = true;
  auto* p = static_cast<char*>(heap.Allocate(20 * kMiB, &zeroed));
  ASSERT_NE(p, nullptr);
  std::memset(p, 0xab, 20 * kMiB);
  ASSERT_TRUE(heap.TryDeallocate(p));
  auto* q = static_cast<char*>(heap.Allocate(8 * kMiB, &zeroed));
  EXPECT_EQ(q, p);
  EXPECT_FALSE(zeroed);
  EXPECT_EQ(heap.UsableSize(q), 20 * kMiB);
  ASSERT_TRUE(heap.TryDeallocate(q));
  // 1 MiB: a twentieth, cut. Then 19 MiB: the rest, right after it.
  auto* small = static_cast<char*>(heap.Allocate(kMiB, &zeroed));
  EXPECT_EQ(small, p);
  EXPECT_EQ(heap.UsableSize(small), kMiB);
  auto* rest = static_cast<char*>(heap.Allocate(19 * kMiB, &zeroed));
  EXPECT_EQ(rest, p + kMiB);
  EXPECT_FALSE(zeroed);
  EXPECT_EQ(heap.UsableSize(rest), 19 * kMiB);
  EXPECT_EQ(static_cast<unsigned char>(rest[0]), 0xab);  // Its pages kept.
  const HeapStats stats = heap.Stats();
  EXPECT_EQ(stats.free_bytes, 0u);
  EXPECT_EQ(stats.allocated_bytes, 20 * kMiB);
  EXPECT_TRUE(heap.Verify().ok());
  // Freed apart, the two are one run again: 20 MiB fit without the kernel.
  ASSERT_TRUE(heap.TryDeallocate(small));
  ASSERT_TRUE(heap.TryDeallocate(rest));
  EXPECT_EQ(heap.Stats().largest_free_block, 20 * kMiB);
  auto* again = static_cast<char*>(heap.Allocate(20 * kMiB, &zeroed));
  EXPECT_EQ(again, p);
  EXPECT_FALSE(zeroed);
  EXPECT_EQ(heap.Stats().free_bytes, 0u);
  EXPECT_TRUE(heap.TryDeallocate(again));
  EXPECT_TRUE(heap.Verify().ok());
}

// Blocks cut from one kept range are disjoint: each holds its own pattern
// while the others are written, and Verify finds none overlapping what
// stays kept.
TEST(LargeHeapTest, BlocksCutFromOneRangeDoNotOverlap) {
  LargeHeap heap(NeverPurge());
  bool zeroed;
  void* big = heap.Allocate(32 * kMiB, &zeroed);
  ASSERT_NE(big, nullptr);
  ASSERT_TRUE(heap.TryDeallocate(big));
  struct Block {
    unsigned char* p;
    std::size_t size;
  };
  std::vector<Block> blocks;
  // 300 KiB to 3 MiB: each but the last more than kReuseWholeFactor times
  // smaller than what is kept, so cut; the last takes what is left whole.
  for (std::size_t size = 300 << 10; size <= 3 * kMiB; size += 300 << 10) {
    auto* p = static_cast<unsigned char*>(heap.Allocate(size, &zeroed));
    ASSERT_NE(p, nullptr);
    blocks.push_back({p, size});
    std::memset(p, static_cast<int>(blocks.size()), size);
    ASSERT_TRUE(heap.Verify().ok());
  }
  EXPECT_GT(heap.UsableSize(blocks.back().p), blocks.back().size);
  const auto begin = reinterpret_cast<std::uintptr_t>(big);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const auto at = reinterpret_cast<std::uintptr_t>(blocks[i].p);
    EXPECT_TRUE(at >= begin && at + blocks[i].size <= begin + 32 * kMiB);
    for (std::size_t j = 0; j < i; ++j) {
      const auto other = reinterpret_cast<std::uintptr_t>(blocks[j].p);
      EXPECT_TRUE(at + blocks[i].size <= other || other + blocks[j].size <= at)
          << i << " overlaps " << j;
    }
    for (std::size_t k = 0; k < blocks[i].size; k += 4096) {
      ASSERT_EQ(blocks[i].p[k], i + 1) << i;
    }
  }
  // Every other one freed, then one larger than any two: the holes do not
  // hold it, so it is a fresh mapping, and writing it disturbs none.
  for (std::size_t i = 0; i < blocks.size(); i += 2) {
    ASSERT_TRUE(heap.TryDeallocate(blocks[i].p));
  }
  auto* wide = static_cast<unsigned char*>(heap.Allocate(6 * kMiB, &zeroed));
  ASSERT_NE(wide, nullptr);
  EXPECT_TRUE(zeroed);
  std::memset(wide, 0xee, 6 * kMiB);
  for (std::size_t i = 1; i < blocks.size(); i += 2) {
    for (std::size_t k = 0; k < blocks[i].size; k += 4096) {
      ASSERT_EQ(blocks[i].p[k], i + 1) << i;
    }
    ASSERT_TRUE(heap.TryDeallocate(blocks[i].p));
  }
  EXPECT_TRUE(heap.TryDeallocate(wide));
  EXPECT_TRUE(heap.Verify().ok());
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

// Kept ranges of two mappings side by side, which the kernel may keep apart,
// never make one block: mremap refuses a range across two of its mappings,
// and every realloc here must be a remap that succeeds. Small blocks and a
// small cache, so that blocks move often and moved ones land beside others.
TEST(LargeHeapTest, BlocksStayWithinOneMappingForRemaps) {
  LargeHeapOptions options = NeverPurge();
  options.cache_entry_max = 64 << 10;
  options.cache_bytes_max = kMiB;
  LargeHeap heap(options);
  std::mt19937 random(21);
  std::vector<void*> live;
  bool zeroed;
  for (int i = 0; i < 20000; ++i) {
    const std::size_t pages = 1 + random() % 64;
    const std::size_t size =
        pages * LargeHeap::kOsPage * (random() % 4 == 0 ? 16 : 1);
    const unsigned op = random() % 4;
    if (op < 2 || live.empty()) {
      void* p = heap.Allocate(size, &zeroed);
      ASSERT_NE(p, nullptr);
      static_cast<char*>(p)[0] = 1;
      // Grown a page at once: a remap, which fails on a block that lies
      // across two of the kernel's mappings.
      p = heap.Reallocate(p, heap.UsableSize(p) + LargeHeap::kOsPage);
      ASSERT_NE(p, nullptr) << i;
      live.push_back(p);
      continue;
    }
    const std::size_t at = random() % live.size();
    if (op == 2 || live.size() > 64) {
      ASSERT_TRUE(heap.TryDeallocate(live[at]));
      live[at] = live.back();
      live.pop_back();
    } else {
      void* moved = heap.Reallocate(live[at], size);
      ASSERT_NE(moved, nullptr) << i;
      ASSERT_EQ(static_cast<char*>(moved)[0], 1);
      live[at] = moved;
    }
  }
  EXPECT_TRUE(heap.Verify().ok());
  for (void* p : live) ASSERT_TRUE(heap.TryDeallocate(p));
}

// Kept pages are not blocks: a pointer to the start of a kept range, or of
// a block already freed back into a run, is refused.
TEST(LargeHeapTest, KeptRangesAreNotBlocks) {
  LargeHeap heap(NeverPurge());
  bool zeroed;
  auto* p = static_cast<char*>(heap.Allocate(16 * kMiB, &zeroed));
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(heap.TryDeallocate(p));
  auto* q = static_cast<char*>(heap.Allocate(kMiB, &zeroed));
  ASSERT_EQ(q, p);
  EXPECT_FALSE(heap.TryDeallocate(p + kMiB));  // The rest, kept.
  EXPECT_EQ(heap.UsableSize(p + kMiB), 0u);
  EXPECT_EQ(heap.Reallocate(p + kMiB, 2 * kMiB), nullptr);
  EXPECT_TRUE(heap.TryDeallocate(q));
  EXPECT_FALSE(heap.TryDeallocate(q));  // Freed twice.
  EXPECT_TRUE(heap.Verify().ok());
}

// A kept mapping up to kReuseWholeFactor times the request goes out whole;
// one a little smaller than the request is grown by the kernel, keeping its
// pages.
TEST(LargeHeapTest, KeptMappingsNearTheSizeAreReusedWholeOrGrown) {
  LargeHeap heap(NeverPurge());
  bool zeroed = true;
  auto* p = static_cast<char*>(heap.Allocate(3 * kMiB, &zeroed));
  ASSERT_NE(p, nullptr);
  std::memset(p, 0xab, 3 * kMiB);
  ASSERT_TRUE(heap.TryDeallocate(p));
  auto* q = static_cast<char*>(heap.Allocate(2 * kMiB, &zeroed));
  EXPECT_EQ(q, p);
  EXPECT_FALSE(zeroed);
  EXPECT_EQ(heap.UsableSize(q), 3 * kMiB);
  ASSERT_TRUE(heap.TryDeallocate(q));
  auto* r = static_cast<char*>(heap.Allocate(5 * kMiB, &zeroed));
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(zeroed);
  EXPECT_EQ(heap.UsableSize(r), 5 * kMiB);
  EXPECT_EQ(static_cast<unsigned char>(r[0]), 0xab);  // Its pages kept.
  EXPECT_EQ(heap.Stats().free_bytes, 0u);
  EXPECT_TRUE(heap.TryDeallocate(r));
  EXPECT_TRUE(heap.Verify().ok());
}

TEST(LargeHeapTest, ReallocateKeepsContentsBothWays) {
  LargeHeap heap;
  bool zeroed;
  auto* p = static_cast<unsigned char*>(heap.Allocate(kMiB, &zeroed));
  ASSERT_NE(p, nullptr);
  for (std::size_t i = 0; i < kMiB; ++i) p[i] = static_cast<unsigned char>(i);
  auto* grown = static_cast<unsigned char*>(heap.Reallocate(p, 48 * kMiB));
  ASSERT_NE(grown, nullptr);
  EXPECT_EQ(heap.UsableSize(grown), 48 * kMiB);
  if (grown != p) {
    EXPECT_EQ(heap.UsableSize(p), 0u);
  }
  for (std::size_t i = 0; i < kMiB; i += 4093) {
    ASSERT_EQ(grown[i], static_cast<unsigned char>(i));
  }
  grown[48 * kMiB - 1] = 7;
  auto* shrunk = static_cast<unsigned char*>(heap.Reallocate(grown, 100000));
  ASSERT_NE(shrunk, nullptr);
  EXPECT_EQ(heap.UsableSize(shrunk), 102400u);
  for (std::size_t i = 0; i < 100000; i += 4093) {
    ASSERT_EQ(shrunk[i], static_cast<unsigned char>(i));
  }
  EXPECT_EQ(heap.Stats().allocated_blocks, 1u);
  EXPECT_TRUE(heap.TryDeallocate(shrunk));
}

TEST(LargeHeapTest, ForeignAndInteriorPointersAreNotBlocks) {
  LargeHeap heap;
  bool zeroed;
  auto* p = static_cast<char*>(heap.Allocate(kMiB, &zeroed));
  ASSERT_NE(p, nullptr);
  int local = 0;
  EXPECT_FALSE(heap.TryDeallocate(&local));
  EXPECT_FALSE(heap.TryDeallocate(p + LargeHeap::kOsPage));
  EXPECT_EQ(heap.UsableSize(p + 16), 0u);
  EXPECT_EQ(heap.Reallocate(p + LargeHeap::kOsPage, 2 * kMiB), nullptr);
  EXPECT_TRUE(heap.TryDeallocate(p));
  EXPECT_FALSE(heap.TryDeallocate(p));  // Already freed.
}

TEST(LargeHeapTest, SizesNoMappingCanHaveFailWithEnomem) {
  LargeHeap heap;
  bool zeroed;
  for (std::size_t size : {SIZE_MAX, SIZE_MAX / 2, std::size_t{1} << 62}) {
    errno = 0;
    EXPECT_EQ(heap.Allocate(size, &zeroed), nullptr) << size;
    EXPECT_EQ(errno, ENOMEM);
  }
  void* p = heap.Allocate(kMiB, &zeroed);
  ASSERT_NE(p, nullptr);
  errno = 0;
  EXPECT_EQ(heap.Reallocate(p, SIZE_MAX - 4096), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(heap.UsableSize(p), kMiB);
  EXPECT_TRUE(heap.TryDeallocate(p));
}

}  // namespace
}  // namespace rusty_malloc::testing
