// The per-thread allocator takes only a block's start for a block: a free of
// an interior, foreign, unused or released pointer aborts.

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "allocator/common/sanitizer.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/size_classes.h"
#include "gtest/gtest.h"
#include "testing/live_blocks.h"
#include "testing/per_thread_lifecycle.h"
#include "testing/per_thread_sources.h"

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

TYPED_TEST(PerThreadLifecycleTest, OnlyBlockStartsAreLive) {
  auto& heap = this->heap();
  for (const std::size_t size :
       {std::size_t{16}, std::size_t{48}, kRequest, std::size_t{4096},
        std::size_t{20000}, kSmallMax}) {
    char* p = AllocateWithOnlyItsStartLive(heap, size);
    ASSERT_NE(p, nullptr);
    heap.Deallocate(p);
    EXPECT_FALSE(heap.IsLiveBlock(p));
  }
}

template <typename T>
class PerThreadLifecycleDeathTest : public PerThreadHeapTest<T> {};
TYPED_TEST_SUITE(PerThreadLifecycleDeathTest, ChunkSources, ChunkSourceNames);

TYPED_TEST(PerThreadLifecycleDeathTest, FreeingAnythingButABlockStartAborts) {
  auto& heap = this->heap();
  for (const std::size_t size :
       {std::size_t{16}, kRequest, std::size_t{4096}, kSmallMax}) {
    auto* p = static_cast<char*>(heap.Allocate(size));
    ASSERT_NE(p, nullptr);
    const std::size_t usable = heap.UsableSize(p);
    EXPECT_DEATH(heap.Deallocate(p + 8), kNotABlock) << size;
    EXPECT_DEATH(heap.Deallocate(p + usable / 2), kNotABlock) << size;
    if (usable > 16) {
      EXPECT_DEATH(heap.Deallocate(p + usable - 16), kNotABlock) << size;
    }
  }

  auto* p = static_cast<char*>(heap.Allocate(kRequest));
  ChunkHeader* chunk = ChunkOf(p);
  PageInfo* page = PageOf(p);
  // The chunk's header page, a page not in use, the untouched end of a page.
  EXPECT_DEATH(heap.Deallocate(chunk), kNotABlock);
  EXPECT_DEATH(heap.Deallocate(reinterpret_cast<char*>(chunk) +
                               (kPagesPerChunk - 1) * kPageSize),
               kNotABlock);
  const std::uint32_t extended = (page->linked_bytes.load() / page->block_size);
  ASSERT_LT(extended, page->capacity);
  EXPECT_DEATH(heap.Deallocate(page->start + extended * kBlock), kNotABlock);
  // A block the page has linked up but never handed out is a free block.
  EXPECT_DEATH(heap.Deallocate(page->start + (extended - 1) * kBlock),
               kDoubleFree);
  heap.Deallocate(p);
  EXPECT_DEATH(heap.Deallocate(p), kDoubleFree);

  // A span's block, from its first page and a later one; an interior.
  constexpr std::size_t kSpanBlock = 96 * 1024;
  auto* span = static_cast<char*>(heap.Allocate(kSpanBlock));
  ASSERT_NE(PageOf(span)->span_pages, 1);
  auto* later = static_cast<char*>(heap.Allocate(kSpanBlock));
  ASSERT_EQ(SpanOf(later), SpanOf(span));
  ASSERT_NE(PageOf(later), PageOf(span));
  EXPECT_DEATH(heap.Deallocate(later + 16), kNotABlock);
  EXPECT_DEATH(heap.Deallocate(span + kPageSize), kNotABlock);
  heap.Deallocate(later);
  EXPECT_DEATH(heap.Deallocate(later), kDoubleFree);
  heap.Deallocate(span);

  // A medium block's interior (alignment beyond a page sends it there).
  auto* medium =
      static_cast<char*>(heap.Allocate(kSmallMax + 1000, 2 * kPageSize));
  EXPECT_DEATH(heap.Deallocate(medium + 16), kNotAStart);
  heap.Deallocate(medium);
}

TYPED_TEST(PerThreadLifecycleDeathTest, FreeingIntoAReleasedChunkAborts) {
  auto& heap = this->heap();
  const std::vector<Letter> blocks = AllocateBlocks(heap, kOwnerBlocks, 0);
  const std::vector<std::vector<Letter>> chunks = GroupByChunk(blocks);
  ASSERT_EQ(chunks.size(), 3u);
  const std::size_t before = heap.Stats().heap_bytes;
  for (const Letter& l : chunks[0]) heap.Deallocate(l.block);
  heap.ReleaseFreeMemory();  // Empty pages are otherwise kept a while.
  ASSERT_EQ(heap.Stats().heap_bytes, before - kChunkSize);
  // Still in the source's range, but no longer any heap's chunk. Under
  // ASan, the source poisons a released chunk: reading its header at all is
  // reported.
  const bool poisoned =
      kAsanPoisoning && std::is_same_v<TypeParam, testing::MmapSourced>;
  for (const Letter& l : {chunks[0].front(), chunks[0].back()}) {
    if (poisoned) {
      EXPECT_DEATH(static_cast<void>(heap.IsLiveBlock(l.block)),
                   "use-after-poison");
    } else {
      EXPECT_FALSE(heap.IsLiveBlock(l.block));
    }
    EXPECT_DEATH(heap.Deallocate(l.block),
                 poisoned ? "use-after-poison" : kNotABlock);
  }
}

}  // namespace
}  // namespace rusty_malloc::testing
