#include "allocator/contiguous/header.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

// A little arena whose "blocks" start at 8 mod 16, as in a real heap.
struct alignas(64) Arena {
  std::byte bytes[1024];
  Block* BlockAt(std::size_t offset) {
    return Block::At(bytes + kHeaderSize + offset);
  }
};

TEST(BlockSizeForTest, AddsHeaderRoundsToGranuleAndRespectsMinimum) {
  EXPECT_EQ(BlockSizeFor(0), kMinBlockSize);
  EXPECT_EQ(BlockSizeFor(1), kMinBlockSize);
  EXPECT_EQ(BlockSizeFor(24), kMinBlockSize);
  EXPECT_EQ(BlockSizeFor(25), 48u);
  EXPECT_EQ(BlockSizeFor(40), 48u);
  EXPECT_EQ(BlockSizeFor(41), 64u);
}

TEST(BlockSizeForTest, RefusesSizesThatWouldOverflowWhenRounded) {
  EXPECT_EQ(BlockSizeFor(SIZE_MAX), 0u);
  EXPECT_EQ(BlockSizeFor(SIZE_MAX - 7), 0u);
  EXPECT_EQ(BlockSizeFor(kMaxBlockSize), 0u);
  EXPECT_EQ(BlockSizeFor(kMaxBlockSize - kHeaderSize - kGranule),
            kMaxBlockSize - kGranule);
}

TEST(BlockTest, OccupiedHeaderRoundTrips) {
  Arena arena;
  Block* b = arena.BlockAt(0);
  b->WriteOccupied(64, true);
  EXPECT_EQ(b->Size(), 64u);
  EXPECT_FALSE(b->IsFree());
  EXPECT_TRUE(b->IsPrevFree());
  EXPECT_TRUE(b->HasValidTag());
  EXPECT_EQ(b->UsableSize(), 56u);
  EXPECT_EQ(b->Next(), arena.BlockAt(64));
  EXPECT_EQ(Block::FromPayload(b->Payload()), b);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b->Payload()) % kGranule, 0u);
}

TEST(BlockTest, FreeHeaderWritesFooterAndPrevFindsTheBlock) {
  Arena arena;
  Block* free_block = arena.BlockAt(0);
  free_block->WriteFree(96, false);
  EXPECT_TRUE(free_block->IsFree());
  EXPECT_EQ(free_block->Footer(), 96u);
  Block* next = free_block->Next();
  next->WriteOccupied(32, true);
  EXPECT_EQ(next->Prev(), free_block);
}

TEST(BlockTest, SetPrevFreeKeepsSizeAndTag) {
  Arena arena;
  Block* b = arena.BlockAt(32);
  b->WriteFree(48, false);
  b->SetPrevFree(true);
  EXPECT_TRUE(b->IsPrevFree());
  EXPECT_TRUE(b->IsFree());
  EXPECT_EQ(b->Size(), 48u);
  EXPECT_TRUE(b->HasValidTag());
  b->SetPrevFree(false);
  EXPECT_FALSE(b->IsPrevFree());
  EXPECT_TRUE(b->HasValidTag());
}

TEST(BlockTest, TagRejectsOverwrittenHeaders) {
  Arena arena;
  Block* b = arena.BlockAt(0);
  b->WriteOccupied(64, false);
  std::uint64_t word;
  std::memcpy(&word, b, sizeof(word));
  int rejected = 0;
  // Flip each size and flag bit in turn: every single-bit change must show.
  for (int bit = 0; bit < 48; ++bit) {
    const std::uint64_t damaged = word ^ (std::uint64_t{1} << bit);
    std::memcpy(static_cast<void*>(b), &damaged, sizeof(damaged));
    rejected += !b->HasValidTag();
  }
  EXPECT_EQ(rejected, 48);
}

TEST(BlockTest, TagRejectsAHeaderCopiedToAnotherAddress) {
  Arena arena;
  Block* b = arena.BlockAt(0);
  b->WriteOccupied(64, false);
  Block* elsewhere = arena.BlockAt(128);
  std::memcpy(static_cast<void*>(elsewhere), b, kHeaderSize);
  EXPECT_FALSE(elsewhere->HasValidTag());
}

}  // namespace
}  // namespace rusty_malloc
