#include "allocator/per_thread/size_classes.h"

#include <cstddef>
#include <cstdint>

#include "allocator/per_thread/chunk.h"
#include "gtest/gtest.h"

namespace rusty_malloc {
namespace {

TEST(SizeClassesTest, EverySizeGetsTheSmallestClassThatHoldsIt) {
  for (std::size_t size = 0; size <= kSmallMax; ++size) {
    const int cls = SizeClassOf(size);
    ASSERT_GE(ClassSize(cls), size) << size;
    if (cls > 0) {
      ASSERT_LT(ClassSize(cls - 1), size) << size;
    }
  }
}

TEST(SizeClassesTest, ClassesGrowAndWasteAtMostAQuarter) {
  for (int cls = 1; cls < kSizeClasses; ++cls) {
    EXPECT_GT(ClassSize(cls), ClassSize(cls - 1));
    EXPECT_EQ(ClassSize(cls) % 16, 0u);
    // The largest request of this class is just above the previous class.
    EXPECT_LE(ClassSize(cls) - ClassSize(cls - 1), ClassSize(cls) / 4 + 16);
  }
  EXPECT_EQ(ClassSize(0), 16u);
  EXPECT_EQ(ClassSize(kSizeClasses - 1), kSmallMax);
}

// Every offset a span can hold, for every block size: the multiply agrees
// with the remainder.
TEST(SizeClassesTest, DivisibilityByMultiplyMatchesTheRemainder) {
  for (int cls = 0; cls < kSizeClasses; ++cls) {
    const auto size = static_cast<std::uint32_t>(ClassSize(cls));
    const std::uint64_t magic = DivisibilityMagic(size);
    const auto span = static_cast<std::uint32_t>(SpanPagesOf(cls) * kPageSize);
    for (std::uint32_t n = 0; n <= span; ++n) {
      ASSERT_EQ(IsMultiple(n, magic), n % size == 0) << size << " " << n;
    }
  }
}

TEST(SizeClassesTest, ComputedClassesMatchTheTable) {
  for (std::size_t size = 0; size <= kLookupMax; ++size) {
    ASSERT_EQ(SizeClassOf(size), LookupSizeClass(size)) << size;
  }
}

// A class up to half a page has a page; above, a span of pages holding at
// least four blocks and wasting at most an eighth.
TEST(SizeClassesTest, SpansHoldFourBlocksAndWasteAnEighth) {
  for (int cls = 0; cls < kSizeClasses; ++cls) {
    const std::size_t bytes = SpanPagesOf(cls) * kPageSize;
    EXPECT_LE(SpanPagesOf(cls), kMaxSpanPages);
    if (2 * ClassSize(cls) <= kPageSize) {
      EXPECT_EQ(SpanPagesOf(cls), 1) << cls;
      continue;
    }
    EXPECT_GE(bytes / ClassSize(cls), 4u) << cls;
    EXPECT_LE(8 * (bytes % ClassSize(cls)), bytes) << cls;
  }
}

}  // namespace
}  // namespace rusty_malloc
