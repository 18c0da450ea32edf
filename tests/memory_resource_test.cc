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

namespace rusty_malloc {
namespace {

TEST(MemoryResourceTest, PmrContainersLiveInAStackBuffer) {
  alignas(16) std::byte storage[256 * 1024];
  RawMalloc<BufferGrower> heap{BufferGrower(storage)};
  MemoryResource resource(heap);
  {
    std::pmr::vector<std::pmr::string> words(&resource);
    for (int i = 0; i < 1000; ++i) {
      words.emplace_back("a string long enough to need the heap, number " +
                         std::to_string(i));
    }
    const auto* data = reinterpret_cast<const std::byte*>(words[500].data());
    EXPECT_GE(data, storage);
    EXPECT_LT(data, storage + sizeof(storage));
    EXPECT_GT(heap.Stats().allocated_blocks, 1000u);
  }
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
  EXPECT_TRUE(heap.Verify().ok());
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
  alignas(16) std::byte storage[4096];
  RawMalloc<BufferGrower> heap{BufferGrower(storage)};
  MemoryResource resource(heap);
  EXPECT_THROW(static_cast<void>(resource.allocate(8192)), std::bad_alloc);
  EXPECT_TRUE(heap.Verify().ok());
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
