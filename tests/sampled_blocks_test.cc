#include "allocator/profile/sampled_blocks.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

SampledBlock Block(std::uintptr_t address, std::uint32_t stack = 7) {
  return SampledBlock{
      address, stack, {static_cast<double>(stack), 2.0 * stack}};
}

TEST(SampledBlocksTest, StartsEmptyAndMapsNothing) {
  SampledBlocks blocks;
  EXPECT_EQ(blocks.size(), 0u);
  EXPECT_EQ(blocks.capacity(), 0u);
  SampledBlock removed;
  EXPECT_FALSE(blocks.Remove(0x1000, &removed));
}

TEST(SampledBlocksTest, RemoveGivesBackWhatInsertHeld) {
  SampledBlocks blocks;
  ASSERT_TRUE(blocks.Insert(Block(0x1000, 3)));
  ASSERT_TRUE(blocks.Insert(Block(0x2000, 4)));
  EXPECT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks.capacity(), SampledBlocks::kFirstCapacity);
  SampledBlock removed;
  EXPECT_FALSE(blocks.Remove(0x3000, &removed));
  ASSERT_TRUE(blocks.Remove(0x1000, &removed));
  EXPECT_EQ(removed.address, 0x1000u);
  EXPECT_EQ(removed.stack, 3u);
  EXPECT_EQ(removed.weight.count, 3.0);
  EXPECT_EQ(removed.weight.bytes, 6.0);
  EXPECT_FALSE(blocks.Remove(0x1000, &removed));
  EXPECT_EQ(blocks.size(), 1u);
}

TEST(SampledBlocksTest, AddressZeroIsNeverABlock) {
  SampledBlocks blocks;
  EXPECT_FALSE(blocks.Insert(Block(0)));
  ASSERT_TRUE(blocks.Insert(Block(0x1000)));
  // Zero is what an empty slot holds: no lookup may find one.
  SampledBlock removed;
  EXPECT_FALSE(blocks.Remove(0, &removed));
  EXPECT_EQ(blocks.size(), 1u);
}

TEST(SampledBlocksTest, GrowsToStayAtMostHalfFull) {
  SampledBlocks blocks;
  constexpr std::uintptr_t kBlocks = 20000;
  for (std::uintptr_t i = 1; i <= kBlocks; ++i) {
    ASSERT_TRUE(blocks.Insert(Block(i * 16, static_cast<std::uint32_t>(i))));
    ASSERT_LE(2 * blocks.size(), blocks.capacity());
  }
  EXPECT_EQ(blocks.size(), kBlocks);
  for (std::uintptr_t i = 1; i <= kBlocks; ++i) {
    SampledBlock removed;
    ASSERT_TRUE(blocks.Remove(i * 16, &removed)) << i;
    ASSERT_EQ(removed.stack, i);
  }
  EXPECT_EQ(blocks.size(), 0u);
}

// Removals shift probe chains back: after each one, every block still held
// is found and every removed one is not. Against a map, with addresses
// packed close (as a heap's are) and in random order.
TEST(SampledBlocksTest, EveryBlockIsFoundAfterRemovalsAnywhere) {
  SampledBlocks blocks;
  std::unordered_map<std::uintptr_t, std::uint32_t> model;
  std::mt19937_64 random(7);
  std::vector<std::uintptr_t> held;
  for (int step = 0; step < 30000; ++step) {
    if (held.empty() || random() % 3 != 0) {
      const std::uintptr_t address = 0x7f0000000000 + (random() % 50000) * 16;
      if (model.count(address) != 0) continue;
      const auto stack = static_cast<std::uint32_t>(random());
      ASSERT_TRUE(blocks.Insert(Block(address, stack)));
      model[address] = stack;
      held.push_back(address);
    } else {
      const std::size_t i = random() % held.size();
      const std::uintptr_t address = held[i];
      held[i] = held.back();
      held.pop_back();
      SampledBlock removed;
      ASSERT_TRUE(blocks.Remove(address, &removed));
      ASSERT_EQ(removed.stack, model[address]);
      model.erase(address);
      ASSERT_FALSE(blocks.Remove(address, &removed));
    }
    ASSERT_EQ(blocks.size(), model.size());
  }
  // Everything left, each once.
  std::shuffle(held.begin(), held.end(), random);
  for (const std::uintptr_t address : held) {
    SampledBlock removed;
    ASSERT_TRUE(blocks.Remove(address, &removed));
    EXPECT_EQ(removed.stack, model[address]);
  }
  EXPECT_EQ(blocks.size(), 0u);
}

}  // namespace
}  // namespace rusty_malloc
