#include "allocator/drop_in/c_api_checks.h"

#include <cstddef>
#include <cstdint>

#include "gtest/gtest.h"

namespace rusty_malloc::c_api {
namespace {

TEST(CApiChecksTest, MultiplyOverflows) {
  std::size_t product = 0;
  EXPECT_FALSE(MultiplyOverflows(3, 5, &product));
  EXPECT_EQ(product, 15u);
  EXPECT_FALSE(MultiplyOverflows(0, SIZE_MAX, &product));
  EXPECT_EQ(product, 0u);
  EXPECT_TRUE(MultiplyOverflows(SIZE_MAX / 2 + 1, 2, &product));
  EXPECT_TRUE(
      MultiplyOverflows(std::size_t{1} << 32, std::size_t{1} << 32, &product));
}

TEST(CApiChecksTest, AlignedAllocTakesAnyPowerOfTwo) {
  EXPECT_TRUE(IsValidAlignedAllocAlignment(1));
  EXPECT_TRUE(IsValidAlignedAllocAlignment(2));
  EXPECT_TRUE(IsValidAlignedAllocAlignment(std::size_t{1} << 63));
  EXPECT_FALSE(IsValidAlignedAllocAlignment(0));
  EXPECT_FALSE(IsValidAlignedAllocAlignment(24));
}

TEST(CApiChecksTest, PosixMemalignWantsAMultipleOfAPointer) {
  EXPECT_TRUE(IsValidPosixMemalignAlignment(sizeof(void*)));
  EXPECT_TRUE(IsValidPosixMemalignAlignment(4096));
  EXPECT_FALSE(IsValidPosixMemalignAlignment(sizeof(void*) / 2));
  EXPECT_FALSE(IsValidPosixMemalignAlignment(0));
  EXPECT_FALSE(IsValidPosixMemalignAlignment(3 * sizeof(void*)));
}

TEST(CApiChecksTest, MemalignRoundsUpAndNeverBelowMalloc) {
  EXPECT_EQ(RoundedAlignment(0), kMallocAlignment);
  EXPECT_EQ(RoundedAlignment(1), kMallocAlignment);
  EXPECT_EQ(RoundedAlignment(24), 32u);
  EXPECT_EQ(RoundedAlignment(4096), 4096u);
  EXPECT_TRUE(IsRoundableAlignment((SIZE_MAX >> 1) + 1));
  EXPECT_FALSE(IsRoundableAlignment((SIZE_MAX >> 1) + 2));
}

TEST(CApiChecksTest, PvallocRoundsToWholePages) {
  constexpr std::size_t kPage = 4096;
  EXPECT_EQ(PageRoundedSize(0, kPage), kPage);
  EXPECT_EQ(PageRoundedSize(1, kPage), kPage);
  EXPECT_EQ(PageRoundedSize(kPage, kPage), kPage);
  EXPECT_EQ(PageRoundedSize(kPage + 1, kPage), 2 * kPage);
  EXPECT_FALSE(PageRoundingOverflows(SIZE_MAX - kPage, kPage));
  EXPECT_TRUE(PageRoundingOverflows(SIZE_MAX - kPage + 1, kPage));
}

}  // namespace
}  // namespace rusty_malloc::c_api
