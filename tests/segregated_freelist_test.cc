#include "allocator/contiguous/segregated_freelist.h"

#include <cstddef>
#include <cstring>
#include <vector>

#include "allocator/contiguous/header.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

using SizeClass = SegregatedFreeList::SizeClass;

TEST(SizeClassTest, LinearBelow256ThenSixteenPerPowerOfTwo) {
  EXPECT_EQ(SegregatedFreeList::ClassOf(32), (SizeClass{0, 2}));
  EXPECT_EQ(SegregatedFreeList::ClassOf(240), (SizeClass{0, 15}));
  EXPECT_EQ(SegregatedFreeList::ClassOf(256), (SizeClass{1, 0}));
  EXPECT_EQ(SegregatedFreeList::ClassOf(271), (SizeClass{1, 0}));
  EXPECT_EQ(SegregatedFreeList::ClassOf(272), (SizeClass{1, 1}));
  EXPECT_EQ(SegregatedFreeList::ClassOf(511), (SizeClass{1, 15}));
  EXPECT_EQ(SegregatedFreeList::ClassOf(512), (SizeClass{2, 0}));
  EXPECT_EQ(SegregatedFreeList::ClassOf(kMaxBlockSize - kGranule).first,
            SegregatedFreeList::kFirstLevels - 1);
}

TEST(SizeClassTest, EverySizeLiesInItsClassRange) {
  for (std::size_t size = kMinBlockSize; size < (1 << 20); size += kGranule) {
    const SizeClass c = SegregatedFreeList::ClassOf(size);
    ASSERT_LE(SegregatedFreeList::LowerBound(c), size) << size;
    SizeClass next = c;
    if (++next.second == SegregatedFreeList::kSecondLevels) {
      next.second = 0;
      ++next.first;
    }
    ASSERT_GT(SegregatedFreeList::LowerBound(next), size) << size;
  }
}

class SegregatedFreeListTest : public ::testing::Test {
 protected:
  Block* MakeFree(std::size_t size) {
    Block* b = Block::At(arena_.data() + kHeaderSize + used_);
    b->WriteFree(size, false);
    used_ += size + 64;
    return b;
  }
  HeapReport Check(const SegregatedFreeList& index, std::size_t n) {
    return index.CheckLinks(n, [](Block* b) { return b->IsFree(); });
  }

  std::vector<std::byte> arena_ = std::vector<std::byte>(8 << 20);
  std::size_t used_ = 0;
};

TEST_F(SegregatedFreeListTest, FindsAFittingBlockOrNone) {
  SegregatedFreeList index;
  EXPECT_EQ(index.FindFit(32, kGranule), nullptr);
  Block* small = MakeFree(64);
  Block* big = MakeFree(4096);
  index.Insert(small);
  index.Insert(big);
  EXPECT_TRUE(Check(index, 2).ok());
  EXPECT_EQ(index.FindFit(64, kGranule), small);
  EXPECT_EQ(index.FindFit(48, kGranule), small);  // Exact classes below 256.
  EXPECT_EQ(index.FindFit(1000, kGranule), big);
  EXPECT_EQ(index.FindFit(4096, kGranule), big);
  EXPECT_EQ(index.FindFit(4112, kGranule), nullptr);
  index.Remove(big);
  EXPECT_EQ(index.FindFit(1000, kGranule), nullptr);
  EXPECT_TRUE(Check(index, 1).ok());
}

TEST_F(SegregatedFreeListTest, RoundsUpPastAClassThatMightNotFit) {
  SegregatedFreeList index;
  Block* low = MakeFree(512);  // Class [512, 544).
  Block* big = MakeFree(4096);
  index.Insert(low);
  index.Insert(big);
  EXPECT_EQ(index.FindFit(512, kGranule), low);  // Own class's head fits.
  EXPECT_EQ(index.FindFit(528, kGranule), big);  // 512 would not.
  // An alignment gap counts: 512 cannot hold 480 aligned to 256 after a gap.
  EXPECT_EQ(PlaceAligned(index.FindFit(480, 256), 480, 256) != nullptr, true);
}

TEST_F(SegregatedFreeListTest, NeverReturnsABlockThatDoesNotFit) {
  SegregatedFreeList index;
  std::vector<Block*> blocks;
  for (std::size_t size = kMinBlockSize; size < 20000;
       size = size * 5 / 4 / 16 * 16 + 16) {
    blocks.push_back(MakeFree(size));
    index.Insert(blocks.back());
  }
  for (std::size_t want = kMinBlockSize; want < 25000; want += 48) {
    for (std::size_t align :
         {std::size_t{16}, std::size_t{256}, std::size_t{4096}}) {
      Block* found = index.FindFit(want, align);
      if (found != nullptr) {
        ASSERT_NE(PlaceAligned(found, want, align), nullptr)
            << want << " " << align;
      }
    }
  }
  EXPECT_TRUE(Check(index, blocks.size()).ok());
}

TEST_F(SegregatedFreeListTest, CheckLinksReportsABlockInTheWrongClass) {
  SegregatedFreeList index;
  Block* b = MakeFree(64);
  index.Insert(b);
  b->WriteFree(1024, false);  // Its size changed without a re-insert.
  EXPECT_FALSE(Check(index, 1).ok());
}

TEST_F(SegregatedFreeListTest, CheckLinksReportsACountMismatch) {
  SegregatedFreeList index;
  index.Insert(MakeFree(64));
  index.Insert(MakeFree(640));
  EXPECT_TRUE(Check(index, 2).ok());
  EXPECT_FALSE(Check(index, 3).ok());
  EXPECT_FALSE(Check(index, 1).ok());
}

}  // namespace
}  // namespace rusty_malloc
