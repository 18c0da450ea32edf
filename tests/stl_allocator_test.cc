#include "allocator/adaptors/stl_allocator.h"

#include <cstddef>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "allocator/common/heap.h"
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
using StackHeap = RawMalloc<BufferGrower>;

static_assert(Heap<StackHeap>);
static_assert(Heap<RustyMalloc<MmapGrower>>);
static_assert(!Heap<int>);

TEST(StlAllocatorTest, VectorWithCapacityInAStackHeap) {
  BufferHeap<64 * 1024> stack;
  StackHeap& heap = stack.heap;
  {
    std::vector<int, StlAllocator<int, StackHeap>> v{
        StlAllocator<int, StackHeap>(heap)};
    v.reserve(1000);
    for (int i = 0; i < 1000; ++i) v.push_back(i);
    EXPECT_TRUE(stack.Holds(v.data()));
    EXPECT_EQ(v[999], 999);
    EXPECT_EQ(heap.Stats().allocated_blocks, 1u);
  }
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
  ExpectIntact(heap);
}

TEST(StlAllocatorTest, NodeContainersRebindToTheSameHeap) {
  RustyMalloc<MmapGrower> heap(MmapGrower(64 << 20));
  using Alloc = StlAllocator<std::pair<const int, int>, decltype(heap)>;
  std::map<int, int, std::less<int>, Alloc> m{Alloc(heap)};
  for (int i = 0; i < 500; ++i) m[i] = i * i;
  EXPECT_EQ(heap.Stats().allocated_blocks, 500u);
  EXPECT_EQ(m[20], 400);
  StlAllocator<char, decltype(heap)> rebound(m.get_allocator());
  EXPECT_TRUE(rebound == m.get_allocator());
}

TEST(StlAllocatorTest, OveralignedTypesAreAligned) {
  struct alignas(512) Wide {
    char c[512];
  };
  RustyMalloc<MmapGrower> heap(MmapGrower(64 << 20));
  std::vector<Wide, StlAllocator<Wide, decltype(heap)>> v{
      StlAllocator<Wide, decltype(heap)>(heap)};
  v.resize(3);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.data()) % 512, 0u);
}

TEST(StlAllocatorTest, ExhaustionThrowsBadAlloc) {
  BufferHeap<4096> stack;
  StlAllocator<int, StackHeap> alloc(stack.heap);
  EXPECT_THROW(static_cast<void>(alloc.allocate(100000)), std::bad_alloc);
  EXPECT_THROW(static_cast<void>(alloc.allocate(SIZE_MAX / 2)),
               std::bad_array_new_length);
  ExpectIntact(stack.heap);
}

TEST(StlAllocatorTest, EqualOnlyOverTheSameHeap) {
  BufferHeap<1024> a;
  BufferHeap<1024> b;
  using Alloc = StlAllocator<int, StackHeap>;
  EXPECT_TRUE(Alloc(a.heap) == Alloc(a.heap));
  EXPECT_FALSE(Alloc(a.heap) == Alloc(b.heap));
}

}  // namespace
}  // namespace rusty_malloc
