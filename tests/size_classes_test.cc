#include "allocator/per_thread/size_classes.h"

#include <cstddef>

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

}  // namespace
}  // namespace rusty_malloc
