#include "allocator/adaptors/memory_resource.h"

#include <cstddef>
#include <memory_resource>
#include <new>
#include <string>
#include <vector>

#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/rusty_malloc.h"
#include "growers/buffer_grower.h"
#include "growers/mmap_grower.h"
#include "gtest/gtest.h"
#include "testing/buffer_heap.h"
#include "testing/expect_intact.h"

namespace rusty_malloc {
namespace {

using ::rusty_malloc::testing::BufferHeap;
using ::rusty_malloc::testing::ExpectIntact;

TEST(MemoryResourceTest, PmrContainersLiveInAStackBuffer) {
  BufferHeap<256 * 1024> stack;
  RawMalloc<BufferGrower>& heap = stack.heap;
  MemoryResource resource(heap);
  {
    std::pmr::vector<std::pmr::string> words(&resource);
    for (int i = 0; i < 1000; ++i) {
      words.emplace_back("a string long enough to need the heap, number " +
                         std::to_string(i));
    }
    EXPECT_TRUE(stack.Holds(words[500].data()));
    EXPECT_GT(heap.Stats().allocated_blocks, 1000u);
  }
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
  ExpectIntact(heap);
}

TEST(MemoryResourceTest, WorksOverAnMmapRangeAndHonoursAlignment) {
  RustyMalloc<MmapGrower> heap(MmapGrower(64 << 20));
  MemoryResource resource(heap);
  void* p = resource.allocate(1000, 4096);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 4096, 0u);
  resource.deallocate(p, 1000, 4096);
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

TEST(MemoryResourceTest, ExhaustionThrowsBadAlloc) {
  BufferHeap<4096> stack;
  MemoryResource resource(stack.heap);
  EXPECT_THROW(static_cast<void>(resource.allocate(8192)), std::bad_alloc);
  ExpectIntact(stack.heap);
}

TEST(MemoryResourceTest, EqualOnlyOverTheSameHeap) {
  RustyMalloc<MmapGrower> a(MmapGrower(1 << 20));
  RustyMalloc<MmapGrower> b(MmapGrower(1 << 20));
  MemoryResource ra1(a);
  MemoryResource ra2(a);
  MemoryResource rb(b);
  EXPECT_TRUE(ra1.is_equal(ra2));
  EXPECT_FALSE(ra1.is_equal(rb));
  EXPECT_FALSE(ra1.is_equal(*std::pmr::new_delete_resource()));
}

}  // namespace
}  // namespace rusty_malloc
