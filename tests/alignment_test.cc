#include "allocator/contiguous/alignment.h"

#include <cstddef>
#include <cstdint>

#include "allocator/contiguous/header.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

TEST(IsValidAlignmentTest, PowersOfTwoUpToTheMaximum) {
  EXPECT_TRUE(IsValidAlignment(1));
  EXPECT_TRUE(IsValidAlignment(16));
  EXPECT_TRUE(IsValidAlignment(kMaxAlignment));
  EXPECT_FALSE(IsValidAlignment(0));
  EXPECT_FALSE(IsValidAlignment(48));
  EXPECT_FALSE(IsValidAlignment(kMaxAlignment * 2));
}

TEST(AlignedStartTest, StaysWhenAlignedAndLeavesAFreeableGapOtherwise) {
  EXPECT_EQ(AlignedStart(4096 - kHeaderSize, 4096), 4096 - kHeaderSize);
  EXPECT_EQ(AlignedStart(8, kGranule), 8u);
  // Payload at 32 mod 64: the next aligned payload is at 64, but the gap up
  // to it (32 bytes) is a whole free block, so the start goes there.
  EXPECT_EQ(AlignedStart(24, 64), 64 - kHeaderSize);
  // Payload at 48 mod 64: a 16-byte gap could not be a block; skip to 128.
  EXPECT_EQ(AlignedStart(40, 64), 128 - kHeaderSize);
}

TEST(WorstCaseBlockSizeTest, HoldsTheRequestWhereverTheFreeBytesStart) {
  EXPECT_EQ(WorstCaseBlockSize(64, kGranule), 64u);
  for (std::size_t align = 32; align <= 4096; align *= 2) {
    for (std::uintptr_t begin = 8; begin < 2 * align; begin += kGranule) {
      ASSERT_LE(AlignedStart(begin, align) - begin + 64,
                WorstCaseBlockSize(64, align))
          << begin << " " << align;
    }
  }
}

// Free blocks in a 64-aligned arena: a block at `offset` has its payload at
// 16 + `offset` mod 64.
class PlaceAlignedTest : public ::testing::Test {
 protected:
  Block* FreeBlockAt(std::size_t offset, std::size_t size) {
    Block* block = Block::At(arena_ + kHeaderSize + offset);
    block->WriteFree(size, false);
    return block;
  }

  alignas(64) std::byte arena_[1024];
};

TEST_F(PlaceAlignedTest, SmallAlignmentStartsAtTheBlock) {
  Block* b = FreeBlockAt(0, 128);
  EXPECT_EQ(PlaceAligned(b, 128, kGranule), b);
  EXPECT_EQ(PlaceAligned(b, 144, kGranule), nullptr);
}

TEST_F(PlaceAlignedTest, LargeAlignmentLeavesAFreeableGap) {
  Block* b = FreeBlockAt(16, 512);  // Payload at 32 mod 64: not 64-aligned.
  Block* start = PlaceAligned(b, 64, 64);
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(start->Payload()) % 64, 0u);
  const std::size_t gap =
      static_cast<std::size_t>(start->Address() - b->Address());
  EXPECT_GE(gap, kMinBlockSize);
  EXPECT_EQ(gap % kGranule, 0u);
  // The gap plus the block must fit exactly or not at all.
  EXPECT_EQ(PlaceAligned(b, 512 - gap, 64), start);
  EXPECT_EQ(PlaceAligned(b, 512 - gap + kGranule, 64), nullptr);
}

TEST_F(PlaceAlignedTest, AlreadyAlignedPayloadNeedsNoGap) {
  Block* b = FreeBlockAt(48, 256);  // Payload at 64 mod 64.
  EXPECT_EQ(PlaceAligned(b, 256, 64), b);
}

}  // namespace
}  // namespace rusty_malloc
