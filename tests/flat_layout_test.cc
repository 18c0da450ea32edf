// The flat layout's labels and include paths (//allocator:<name>,
// "allocator/<name>.h") still build after the move into per-layer packages.
// (//allocator:malloc and its variants are linked by malloc_test.)

#include <cstddef>
#include <cstdint>
#include <vector>

#include "allocator/c_api.h"
#include "allocator/chunk.h"
#include "allocator/chunk_source.h"
#include "allocator/freelist.h"
#include "allocator/header.h"
#include "allocator/heap_allocator.h"
#include "allocator/heap_report.h"
#include "allocator/memory_resource.h"
#include "allocator/per_thread_malloc.h"
#include "allocator/planted_bug.h"
#include "allocator/raw_malloc.h"
#include "allocator/rusty_malloc.h"
#include "allocator/segregated_freelist.h"
#include "allocator/size_classes.h"
#include "allocator/stl_allocator.h"
#include "allocator/thread_heap.h"
#include "gtest/gtest.h"
#include "testing/test_growers.h"

namespace rusty_malloc {
namespace {

static_assert(!Planted(PlantedBug::kStaleLink));
static_assert(kChunkSize % kPageSize == 0);
static_assert(FreeBlockIndex<SegregatedFreeList>);
static_assert(ChunkSource<MmapChunkSource>);
static_assert(HeapAllocator<RawMalloc<testing::TestGrower>>);

TEST(FlatLayoutTest, TheFlatIncludePathsReachTheMovedLibraries) {
  RustyMalloc<testing::TestGrower> heap(testing::TestGrower(1 << 20));
  {
    std::vector<int, StlAllocator<int, decltype(heap)>> v{
        StlAllocator<int, decltype(heap)>(heap)};
    v.assign(100, 7);
  }
  void* p = c_api::Calloc(heap, 10, 10);
  ASSERT_NE(p, nullptr);
  c_api::Free(heap, p);
  EXPECT_TRUE(heap.Verify().ok());
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
  EXPECT_GE(BlockSizeFor(100), 100u);
  EXPECT_EQ(SizeClassOf(17), 1);
}

}  // namespace
}  // namespace rusty_malloc
