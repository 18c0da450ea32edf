#include "growers/buffer_grower.h"

#include <cstdint>
#include <cstring>
#include <span>

#include "allocator/contiguous/raw_malloc.h"
#include "gtest/gtest.h"

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

TEST(BufferGrowerTest, ShrinksAndGrowsAgain) {
  alignas(16) std::byte storage[256];
  BufferGrower grower(storage);
  grower.Grow(256);
  EXPECT_FALSE(grower.Shrink(272));
  EXPECT_TRUE(grower.Shrink(96));
  EXPECT_EQ(grower.Size(), 160u);
  EXPECT_EQ(grower.Grow(96), 96u);
}

TEST(BufferGrowerTest, HeapOnAStackBufferRunsOutCleanly) {
  alignas(16) std::byte storage[4096];
  RawMalloc<BufferGrower> heap{BufferGrower(storage)};
  int served = 0;
  while (void* p = heap.Allocate(100)) {
    EXPECT_GE(static_cast<std::byte*>(p), storage);
    EXPECT_LE(static_cast<std::byte*>(p) + 100, storage + sizeof(storage));
    std::memset(p, served, 100);
    ++served;
  }
  EXPECT_EQ(served, static_cast<int>((4096 - 16) / BlockSizeFor(100)));
  EXPECT_TRUE(heap.Verify().ok()) << heap.Verify().ToString();
  EXPECT_EQ(heap.Allocate(8 * 4096), nullptr);
}

}  // namespace
}  // namespace rusty_malloc
