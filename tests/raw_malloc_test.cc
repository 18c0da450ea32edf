// RawMalloc's contract, which RustyMalloc shares (RawMallocTest, see
// testing/raw_malloc_fixture.h): allocation, alignment, growth, merging,
// realloc and statistics.

#include "allocator/contiguous/raw_malloc.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "allocator/contiguous/header.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"
#include "testing/patterns.h"
#include "testing/raw_malloc_fixture.h"

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

TYPED_TEST(RawMallocTest, EmptyHeapIsIntactAndTouchesNoGrower) {
  ExpectIntact(this->heap_);
  EXPECT_EQ(this->grower_.grow_calls(), 0);
  EXPECT_EQ(this->heap_.Stats().heap_bytes, 0u);
}

TYPED_TEST(RawMallocTest, AllocatesDistinctAlignedWritableBlocks) {
  std::vector<void*> blocks;
  for (std::size_t size = 1; size < 600; size += 37) {
    void* p = this->heap_.Allocate(size);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0u);
    FillPattern(p, size, size);
    blocks.push_back(p);
  }
  ExpectIntact(this->heap_);
  std::size_t size = 1;
  for (void* p : blocks) {
    EXPECT_EQ(FirstPatternMismatch(p, size, size), size);
    this->heap_.Deallocate(p);
    size += 37;
  }
  ExpectIntact(this->heap_);
  EXPECT_EQ(this->heap_.Stats().allocated_blocks, 0u);
}

TYPED_TEST(RawMallocTest, ServesEveryPowerOfTwoAlignmentUpTo64KiB) {
  std::vector<void*> blocks;
  for (std::size_t align = 1; align <= 64 * 1024; align *= 2) {
    for (std::size_t size : {std::size_t{1}, std::size_t{100}, align}) {
      void* p = this->heap_.Allocate(size, align);
      ASSERT_NE(p, nullptr) << "align " << align;
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0u);
      std::memset(p, 0xab, size);
      blocks.push_back(p);
      ExpectIntact(this->heap_);
    }
  }
  for (void* p : blocks) this->heap_.Deallocate(p);
  ExpectIntact(this->heap_);
}

TYPED_TEST(RawMallocTest, AlignmentGapBecomesAReusableFreeBlock) {
  constexpr std::size_t kAlign = 4096;
  // Make sure the next block's payload is not aligned already, so the
  // aligned allocation below has to leave a gap.
  void* first = this->heap_.Allocate(16);
  if ((reinterpret_cast<std::uintptr_t>(first) + kMinBlockSize) % kAlign == 0) {
    first = this->heap_.Allocate(16);
  }
  void* aligned = this->heap_.Allocate(64, kAlign);
  ASSERT_NE(aligned, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned) % kAlign, 0u);
  EXPECT_GE(this->heap_.Stats().free_blocks, 1u);
  ExpectIntact(this->heap_);
  // A small block fits in the gap between the two, without growth.
  const int grows = this->grower_.grow_calls();
  void* small = this->heap_.Allocate(16);
  ASSERT_NE(small, nullptr);
  EXPECT_GT(small, first);
  EXPECT_LT(small, aligned);
  EXPECT_EQ(this->grower_.grow_calls(), grows);
  ExpectIntact(this->heap_);
}

TYPED_TEST(RawMallocTest, RefusesInvalidAlignmentsAndChangesNothing) {
  void* keep = this->heap_.Allocate(10);
  const HeapStats before = this->heap_.Stats();
  for (std::size_t align : {std::size_t{0}, std::size_t{3}, std::size_t{48},
                            std::size_t{4097}, kMaxAlignment * 2}) {
    EXPECT_EQ(this->heap_.Allocate(8, align), nullptr) << align;
    EXPECT_EQ(this->heap_.Reallocate(keep, 8, align), nullptr) << align;
  }
  EXPECT_EQ(this->heap_.Stats().allocated_bytes, before.allocated_bytes);
  EXPECT_EQ(this->heap_.Stats().heap_bytes, before.heap_bytes);
  ExpectIntact(this->heap_);
}

TYPED_TEST(RawMallocTest, SizeZeroGivesUniqueFreeablePointers) {
  void* a = this->heap_.Allocate(0);
  void* b = this->heap_.Allocate(0);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_GE(this->heap_.UsableSize(a), 0u);
  this->heap_.Deallocate(a);
  this->heap_.Deallocate(b);
  ExpectIntact(this->heap_);
}

TYPED_TEST(RawMallocTest, OverflowingSizesReturnNullAndChangeNothing) {
  void* keep = this->heap_.Allocate(40);
  FillPattern(keep, 40, 7);
  const HeapStats before = this->heap_.Stats();
  const int grows = this->grower_.grow_calls();
  for (std::size_t size : {SIZE_MAX, SIZE_MAX - 7, SIZE_MAX - 16, kMaxBlockSize,
                           kMaxBlockSize - kHeaderSize}) {
    EXPECT_EQ(this->heap_.Allocate(size), nullptr) << size;
    EXPECT_EQ(this->heap_.Allocate(size, 4096), nullptr) << size;
    EXPECT_EQ(this->heap_.Reallocate(keep, size), nullptr) << size;
  }
  EXPECT_EQ(this->grower_.grow_calls(), grows);
  EXPECT_EQ(this->heap_.Stats().heap_bytes, before.heap_bytes);
  EXPECT_EQ(this->heap_.Stats().allocated_bytes, before.allocated_bytes);
  EXPECT_EQ(FirstPatternMismatch(keep, 40, 7), 40u);
  ExpectIntact(this->heap_);
}

TYPED_TEST(RawMallocTest, RefusedGrowthReturnsNullAndRecovers) {
  void* keep = this->heap_.Allocate(100);
  FillPattern(keep, 100, 1);
  this->grower_.set_refuse(true);
  EXPECT_EQ(this->heap_.Allocate(kCapacity / 2), nullptr);
  EXPECT_EQ(this->heap_.Reallocate(keep, kCapacity / 2), nullptr);
  EXPECT_EQ(FirstPatternMismatch(keep, 100, 1), 100u);
  ExpectIntact(this->heap_);
  this->grower_.set_refuse(false);
  void* big = this->heap_.Allocate(kCapacity / 2);
  EXPECT_NE(big, nullptr);
  ExpectIntact(this->heap_);
}

TYPED_TEST(RawMallocTest, ExhaustingTheGrowerGivesNullNotACrash) {
  std::vector<void*> blocks;
  while (void* p = this->heap_.Allocate(64 * 1024 - 8)) blocks.push_back(p);
  EXPECT_GE(blocks.size(), kCapacity / (64 * 1024) - 2);
  ExpectIntact(this->heap_);
  for (void* p : blocks) this->heap_.Deallocate(p);
  EXPECT_EQ(this->heap_.Stats().free_blocks, 1u);
  EXPECT_NE(this->heap_.Allocate(kCapacity / 2), nullptr);
}

TYPED_TEST(RawMallocTest, FreeMergesWithBothNeighboursAtOnce) {
  void* a = this->heap_.Allocate(100);
  void* b = this->heap_.Allocate(100);
  void* c = this->heap_.Allocate(100);
  void* guard = this->heap_.Allocate(100);
  ASSERT_NE(guard, nullptr);
  const std::size_t top_free = this->heap_.Stats().free_blocks;
  this->heap_.Deallocate(a);
  this->heap_.Deallocate(c);
  EXPECT_EQ(this->heap_.Stats().free_blocks, top_free + 2);
  this->heap_.Deallocate(b);  // Joins a and c into one block.
  const HeapStats stats = this->heap_.Stats();
  EXPECT_EQ(stats.free_blocks, top_free + 1);
  EXPECT_GE(stats.largest_free_block, 3 * BlockSizeFor(100));
  ExpectIntact(this->heap_);
  // The merged block serves a request none of the three could alone.
  void* merged = this->heap_.Allocate(3 * BlockSizeFor(100) - kHeaderSize);
  EXPECT_EQ(merged, a);
}

TYPED_TEST(RawMallocTest, FreedBlockIsReusedBeforeTheHeapGrows) {
  void* a = this->heap_.Allocate(256);
  void* guard = this->heap_.Allocate(16);
  ASSERT_NE(guard, nullptr);
  this->heap_.Deallocate(a);
  const int grows = this->grower_.grow_calls();
  EXPECT_EQ(this->heap_.Allocate(200), a);
  EXPECT_EQ(this->grower_.grow_calls(), grows);
}

TYPED_TEST(RawMallocTest, GrowthExtendsAFreeTopBlockInsteadOfStrandingIt) {
  void* a = this->heap_.Allocate(16 * 1024);
  this->heap_.Deallocate(a);  // The whole heap is now one free top block.
  const std::size_t before = this->heap_.Stats().heap_bytes;
  void* b = this->heap_.Allocate(before);  // Just a little more than that.
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b, a);
  EXPECT_LT(this->heap_.Stats().heap_bytes, 2 * before);
  ExpectIntact(this->heap_);
}

TYPED_TEST(RawMallocTest, UsableSizeIsAtLeastTheRequest) {
  for (std::size_t size = 0; size < 300; ++size) {
    void* p = this->heap_.Allocate(size);
    const std::size_t usable = this->heap_.UsableSize(p);
    EXPECT_GE(usable, size);
    EXPECT_LT(usable, size + kMinBlockSize);
    std::memset(p, 0x5a, usable);  // All of it is the client's.
    this->heap_.Deallocate(p);
  }
  ExpectIntact(this->heap_);
}

TYPED_TEST(RawMallocTest, ReallocOfNullAllocates) {
  void* p = this->heap_.Reallocate(nullptr, 50);
  ASSERT_NE(p, nullptr);
  EXPECT_GE(this->heap_.UsableSize(p), 50u);
}

TYPED_TEST(RawMallocTest, ReallocShrinksInPlaceAndFreesTheTail) {
  void* p = this->heap_.Allocate(1000);
  void* guard = this->heap_.Allocate(16);
  ASSERT_NE(guard, nullptr);
  FillPattern(p, 1000, 3);
  const std::size_t free_before = this->heap_.Stats().free_bytes;
  EXPECT_EQ(this->heap_.Reallocate(p, 100), p);
  EXPECT_EQ(FirstPatternMismatch(p, 100, 3), 100u);
  EXPECT_LT(this->heap_.UsableSize(p), 200u);
  EXPECT_GT(this->heap_.Stats().free_bytes, free_before + 800);
  EXPECT_EQ(this->heap_.Reallocate(p, 0), p);
  ExpectIntact(this->heap_);
}

TYPED_TEST(RawMallocTest, ReallocGrowsInPlaceIntoAFreeRightNeighbour) {
  void* p = this->heap_.Allocate(100);
  void* neighbour = this->heap_.Allocate(400);
  void* guard = this->heap_.Allocate(16);
  ASSERT_NE(guard, nullptr);
  FillPattern(p, 100, 4);
  this->heap_.Deallocate(neighbour);
  EXPECT_EQ(this->heap_.Reallocate(p, 300), p);
  EXPECT_EQ(FirstPatternMismatch(p, 100, 4), 100u);
  EXPECT_GE(this->heap_.UsableSize(p), 300u);
  ExpectIntact(this->heap_);
  // The rest of the neighbour stayed free and usable.
  EXPECT_LT(this->heap_.Allocate(100), guard);
}

TYPED_TEST(RawMallocTest, ReallocGrowsTheLastBlockByGrowingTheHeap) {
  void* p = this->heap_.Allocate(100);
  FillPattern(p, 100, 5);
  const std::size_t heap_before = this->heap_.Stats().heap_bytes;
  void* q = this->heap_.Reallocate(p, 4 * heap_before);
  EXPECT_EQ(q, p);
  EXPECT_GT(this->heap_.Stats().heap_bytes, heap_before);
  EXPECT_EQ(FirstPatternMismatch(p, 100, 5), 100u);
  std::memset(p, 1, 4 * heap_before);
  ExpectIntact(this->heap_);
}

TYPED_TEST(RawMallocTest, ReallocMovesWhenBlockedAndKeepsContents) {
  void* p = this->heap_.Allocate(100);
  void* blocker = this->heap_.Allocate(100);
  ASSERT_NE(blocker, nullptr);
  FillPattern(p, 100, 6);
  void* q = this->heap_.Reallocate(p, 5000);
  ASSERT_NE(q, nullptr);
  EXPECT_NE(q, p);
  EXPECT_EQ(FirstPatternMismatch(q, 100, 6), 100u);
  ExpectIntact(this->heap_);
}

TYPED_TEST(RawMallocTest, ReallocMovesToHonourALargerAlignment) {
  void* p = this->heap_.Allocate(64);
  FillPattern(p, 64, 8);
  void* q = this->heap_.Reallocate(p, 64, 8192);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(q) % 8192, 0u);
  EXPECT_EQ(FirstPatternMismatch(q, 64, 8), 64u);
  ExpectIntact(this->heap_);
}

TYPED_TEST(RawMallocTest, StatsAddUpToTheHeap) {
  std::vector<void*> blocks;
  for (int i = 0; i < 50; ++i) blocks.push_back(this->heap_.Allocate(i * 13));
  for (int i = 0; i < 50; i += 3) this->heap_.Deallocate(blocks[i]);
  const HeapStats stats = this->heap_.Stats();
  EXPECT_EQ(stats.allocated_bytes + stats.free_bytes + stats.overhead_bytes,
            stats.heap_bytes);
  EXPECT_EQ(stats.allocated_blocks, 50u - 17u);
  EXPECT_EQ(stats.heap_bytes, this->grower_.Size());
}

}  // namespace
}  // namespace rusty_malloc::testing
