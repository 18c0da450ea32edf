#include "growers/buffer_grower.h"

#include <cstdint>
#include <cstring>
#include <span>

#include "allocator/contiguous/raw_malloc.h"
#include "gtest/gtest.h"
#include "testing/buffer_heap.h"
#include "testing/expect_intact.h"

namespace rusty_malloc {
namespace {

TEST(BufferGrowerTest, UsesTheAlignedPartOfAMisalignedBuffer) {
  alignas(16) std::byte storage[1024];
  BufferGrower grower(std::span<std::byte>(storage + 3, 1000));
  EXPECT_EQ(grower.Base(), storage + 16);
  EXPECT_EQ(grower.Capacity(), (1000u - 13u) / 16u * 16u);
  EXPECT_EQ(grower.Size(), 0u);
}

TEST(BufferGrowerTest, TooSmallABufferHasNoCapacity) {
  alignas(16) std::byte storage[32];
  BufferGrower grower(std::span<std::byte>(storage + 1, 14));
  EXPECT_EQ(grower.Capacity(), 0u);
  EXPECT_EQ(grower.Grow(16), 0u);
}

TEST(BufferGrowerTest, GrowsExactlyAndRefusesPastTheEnd) {
  alignas(16) std::byte storage[256];
  BufferGrower grower(storage);
  EXPECT_EQ(grower.Grow(64), 64u);
  EXPECT_EQ(grower.Grow(160), 160u);
  EXPECT_EQ(grower.Grow(48), 0u);
  EXPECT_EQ(grower.Size(), 224u);
  EXPECT_EQ(grower.Grow(32), 32u);
  EXPECT_EQ(grower.Grow(16), 0u);
}

// Growing and shrinking in general: the typed tests in grower_test.cc.

TEST(BufferGrowerTest, HeapOnAStackBufferRunsOutCleanly) {
  testing::BufferHeap<4096> stack;
  RawMalloc<BufferGrower>& heap = stack.heap;
  int served = 0;
  while (void* p = heap.Allocate(100)) {
    EXPECT_TRUE(stack.Holds(p));
    EXPECT_TRUE(stack.Holds(static_cast<std::byte*>(p) + 99));
    std::memset(p, served, 100);
    ++served;
  }
  EXPECT_EQ(served, static_cast<int>((4096 - 16) / BlockSizeFor(100)));
  testing::ExpectIntact(heap);
  EXPECT_EQ(heap.Allocate(8 * 4096), nullptr);
}

}  // namespace
}  // namespace rusty_malloc
