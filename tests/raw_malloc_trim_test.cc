// What RawMalloc gives back: a free top trimmed to the grower, the trim
// policy's arithmetic, and the pages of large free blocks inside the heap
// decommitted (checked with mincore).

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "allocator/common/sanitizer.h"
#include "allocator/contiguous/header.h"
#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/segregated_freelist.h"
#include "growers/mmap_grower.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"
#include "testing/raw_malloc_fixture.h"
#include "testing/resident.h"

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

TYPED_TEST(RawMallocTest, TrimsALargeFreeTopBackToTheGrower) {
  RawMallocOptions options;
  options.trim_threshold = 256 * 1024;
  options.top_pad = 64 * 1024;
  WatchedHeap<TypeParam> trimming(options);
  TypeParam& heap = trimming.heap;
  TestGrower& grower = trimming.grower;
  void* small = heap.Allocate(100);
  void* big = heap.Allocate(1 << 20);
  ASSERT_NE(big, nullptr);
  EXPECT_GT(grower.Size(), 1u << 20);
  heap.Deallocate(big);
  EXPECT_GE(grower.shrink_calls(), 1);
  EXPECT_LE(grower.Size(), 64u * 1024 + 1024);
  ExpectIntact(heap);
  // A free top below the threshold stays.
  void* medium = heap.Allocate(128 * 1024);
  const int shrinks = grower.shrink_calls();
  heap.Deallocate(medium);
  EXPECT_EQ(grower.shrink_calls(), shrinks);
  heap.Deallocate(small);
  ExpectIntact(heap);
}

TYPED_TEST(RawMallocTest, RefusedShrinkKeepsTheHeapIntact) {
  const RawMallocOptions options{.trim_threshold = 64 * 1024, .top_pad = 0};
  WatchedHeap<TypeParam> trimming(options);
  TypeParam& heap = trimming.heap;
  TestGrower& grower = trimming.grower;
  void* big = heap.Allocate(1 << 20);
  grower.set_refuse(true);
  const std::size_t size = grower.Size();
  heap.Deallocate(big);
  EXPECT_EQ(grower.Size(), size);
  ExpectIntact(heap);
  grower.set_refuse(false);
  EXPECT_NE(heap.Allocate(1 << 20), nullptr);
}

TEST(TrimPolicyTest, TrimsFromTheThresholdDownToThePadAsAWholeBlock) {
  RawMallocOptions options;
  options.trim_threshold = 4096;
  options.top_pad = 1000;
  EXPECT_EQ(TopBytesToKeep(options), 1008u);
  EXPECT_FALSE(ShouldTrim(options, 4080));
  EXPECT_TRUE(ShouldTrim(options, 4096));
  options.top_pad = 0;
  EXPECT_EQ(TopBytesToKeep(options), kMinBlockSize);
  // A threshold below the pad never trims a top the pad would keep whole.
  options.trim_threshold = 0;
  options.top_pad = 8192;
  EXPECT_FALSE(ShouldTrim(options, 8192));
  EXPECT_TRUE(ShouldTrim(options, 8208));
}

TEST(TrimPolicyTest, DecommitsOnlyWholePagesInsideTheFreeBlock) {
  constexpr std::uintptr_t kPage = 4096;
  // Free block [1000, 100000), the freed part [5000, 60000).
  const PageRange pages = DecommittablePages(1000, 100000, 5000, 60000, kPage);
  EXPECT_EQ(pages.begin, 2 * kPage);
  EXPECT_EQ(pages.end, 14 * kPage);
  // The free block's header, links and footer pages are never included.
  const PageRange whole =
      DecommittablePages(0, 10 * kPage, 0, 10 * kPage, kPage);
  EXPECT_EQ(whole.begin, kPage);
  EXPECT_EQ(whole.end, 9 * kPage);
  // Less than a page: nothing.
  const PageRange none = DecommittablePages(0, 100000, 5000, 8000, kPage);
  EXPECT_GE(none.begin, none.end);
}

// A large block freed below a live one gives its pages back: the top trim
// cannot reach it.
TEST(RawMallocDecommitTest, ALargeFreeBlockInsideTheHeapIsNotResident) {
  RawMalloc<MmapGrower, SegregatedFreeList> heap(
      MmapGrower(std::size_t{1} << 30));
  constexpr std::size_t kBig = std::size_t{64} << 20;
  auto* big = static_cast<std::byte*>(heap.Allocate(kBig));
  ASSERT_NE(big, nullptr);
  Unpoison(big, kBig);
  std::memset(big, 1, kBig);
  void* above = heap.Allocate(40 << 10);
  ASSERT_NE(above, nullptr);
  EXPECT_GE(ResidentPages(big, kBig), kBig / 4096 - 1);
  heap.Deallocate(big);
  EXPECT_LE(ResidentPages(big, kBig), 2u);  // The free block's ends.
  ExpectIntact(heap);
  // The pages come back as the heap reuses them.
  auto* again = static_cast<std::byte*>(heap.Allocate(kBig / 2));
  ASSERT_EQ(again, big);
  std::memset(again, 2, kBig / 2);
  heap.Deallocate(again);
  heap.Deallocate(above);
  ExpectIntact(heap);
}

// malloc_trim's path: with frees decommitting nothing, every free block's
// pages and the free top go back at once.
TEST(RawMallocDecommitTest, ReleaseFreeMemoryReturnsEveryFreePage) {
  RawMallocOptions options;
  options.decommit_threshold = 0;
  options.trim_threshold = SIZE_MAX;
  RawMalloc<MmapGrower, SegregatedFreeList> heap(
      MmapGrower(std::size_t{1} << 30), options);
  constexpr std::size_t kBlock = std::size_t{8} << 20;
  std::byte* blocks[3];
  for (std::byte*& block : blocks) {
    block = static_cast<std::byte*>(heap.Allocate(kBlock));
    ASSERT_NE(block, nullptr);
    Unpoison(block, kBlock);
    std::memset(block, 1, kBlock);
  }
  heap.Deallocate(blocks[0]);  // Inside the heap.
  heap.Deallocate(blocks[2]);  // The top.
  EXPECT_GE(ResidentPages(blocks[0], kBlock), kBlock / 4096 - 1);
  const std::size_t before = heap.Stats().heap_bytes;
  heap.ReleaseFreeMemory();
  EXPECT_LE(ResidentPages(blocks[0], kBlock), 2u);
  EXPECT_LE(heap.Stats().heap_bytes, before - kBlock + (64 << 10));
  EXPECT_GE(ResidentPages(blocks[1], kBlock), kBlock / 4096 - 1);
  ExpectIntact(heap);
  heap.Deallocate(blocks[1]);
  ExpectIntact(heap);
}

// Below the threshold nothing is decommitted: small frees make no syscall.
TEST(RawMallocDecommitTest, SmallFreeBlocksStayResident) {
  RawMallocOptions options;
  options.decommit_threshold = std::size_t{8} << 20;
  RawMalloc<MmapGrower, SegregatedFreeList> heap(
      MmapGrower(std::size_t{1} << 30), options);
  constexpr std::size_t kBlock = std::size_t{1} << 20;
  auto* block = static_cast<std::byte*>(heap.Allocate(kBlock));
  ASSERT_NE(block, nullptr);
  Unpoison(block, kBlock);
  std::memset(block, 1, kBlock);
  void* above = heap.Allocate(100);
  heap.Deallocate(block);
  EXPECT_GE(ResidentPages(block, kBlock), kBlock / 4096 - 1);
  heap.Deallocate(above);
}

}  // namespace
}  // namespace rusty_malloc::testing
