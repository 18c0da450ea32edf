#include "allocator/common/mapped_array.h"

#include <cstddef>
#include <cstdint>

#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

struct Pair {
  std::uint64_t key;
  std::uint64_t value;
};

TEST(MappedArrayTest, StartsEmptyAndDoublesFromTheFirstCapacity) {
  MappedArray<std::uint64_t, 8> array;
  EXPECT_EQ(array.capacity(), 0u);
  EXPECT_EQ(array.data(), nullptr);
  ASSERT_TRUE(array.Grow(0));
  EXPECT_EQ(array.capacity(), 8u);
  ASSERT_TRUE(array.Grow(0));
  EXPECT_EQ(array.capacity(), 16u);
  ASSERT_TRUE(array.Grow(0));
  EXPECT_EQ(array.capacity(), 32u);
}

TEST(MappedArrayTest, GrowKeepsThePrefixAndZeroesTheRest) {
  MappedArray<std::uint64_t, 4> array;
  ASSERT_TRUE(array.Grow(0));
  for (std::size_t i = 0; i < 4; ++i) array[i] = i + 1;
  ASSERT_TRUE(array.Grow(3));
  ASSERT_EQ(array.capacity(), 8u);
  EXPECT_EQ(array[0], 1u);
  EXPECT_EQ(array[2], 3u);
  for (std::size_t i = 3; i < 8; ++i) EXPECT_EQ(array[i], 0u) << i;
}

TEST(MappedArrayTest, GrowHandsTheOldElementsOver) {
  MappedArray<Pair, 2> array;
  ASSERT_TRUE(array.Grow(0));
  array[0] = {1, 10};
  array[1] = {2, 20};
  MappedArray<Pair, 2> old;
  ASSERT_TRUE(array.GrowFresh(&old));
  ASSERT_EQ(old.capacity(), 2u);
  EXPECT_EQ(old[1].value, 20u);
  ASSERT_EQ(array.capacity(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(array[i].key, 0u) << i;
}

TEST(MappedArrayTest, RefusedGrowthChangesNothing) {
  // More than any address space holds.
  MappedArray<std::uint64_t, (SIZE_MAX / 8 / 2) & ~std::size_t{0xfff}> array;
  EXPECT_FALSE(array.Grow(0));
  EXPECT_EQ(array.capacity(), 0u);
  EXPECT_EQ(array.data(), nullptr);
}

}  // namespace
}  // namespace rusty_malloc
