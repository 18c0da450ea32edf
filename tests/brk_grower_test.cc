#include "growers/brk_grower.h"

#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "allocator/contiguous/raw_malloc.h"
#include "gtest/gtest.h"
#include "testing/expect_intact.h"
#include "testing/malloc_off_the_break.h"
#include "testing/patterns.h"

namespace rusty_malloc {
namespace {

using ::rusty_malloc::testing::ExpectIntact;
using ::rusty_malloc::testing::FillPattern;
using ::rusty_malloc::testing::FirstPatternMismatch;

std::byte* Break() { return static_cast<std::byte*>(sbrk(0)); }

class BrkGrowerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::KeepMallocOffTheBreak(); }
};

TEST_F(BrkGrowerTest, RoundsTheIncrementToTheAlignment) {
  EXPECT_EQ(BrkGrower(4096).Increment(), 4096u);
  EXPECT_EQ(BrkGrower(4095).Increment(), 4096u);
  EXPECT_EQ(BrkGrower(10).Increment(), 16u);
  EXPECT_EQ(BrkGrower(0).Increment(), 16u);
  EXPECT_EQ(BrkGrower(17).Increment(), 32u);
}

TEST_F(BrkGrowerTest, GrowsByWholeIncrementsAtTheBreak) {
  BrkGrower grower(1000);  // Rounded to 1008.
  EXPECT_EQ(grower.Size(), 0u);
  const std::size_t added = grower.Grow(16);
  ASSERT_EQ(added, 1008u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(grower.Base()) % kGrowerAlignment,
            0u);
  EXPECT_EQ(Break(), grower.Base() + grower.Size());
  std::byte* const base = grower.Base();
  EXPECT_EQ(grower.Grow(2000), 2016u);
  EXPECT_EQ(grower.Base(), base);
  EXPECT_EQ(Break(), base + 3024);
  std::memset(base, 0x11, grower.Size());
  EXPECT_TRUE(grower.Shrink(grower.Size()));
  EXPECT_EQ(Break(), base);
}

TEST_F(BrkGrowerTest, ShrinkLowersTheBreakAndRefusesMoreThanItHas) {
  BrkGrower grower(4096);
  ASSERT_EQ(grower.Grow(8192), 8192u);
  std::byte* const base = grower.Base();
  EXPECT_FALSE(grower.Shrink(8192 + 16));
  EXPECT_TRUE(grower.Shrink(4096));
  EXPECT_EQ(grower.Size(), 4096u);
  EXPECT_EQ(Break(), base + 4096);
  EXPECT_TRUE(grower.Shrink(4096));
}

TEST_F(BrkGrowerTest, NeverOverlapsABreakMovedBySomeoneElse) {
  BrkGrower grower(4096);
  ASSERT_EQ(grower.Grow(4096), 4096u);
  std::byte* const end = grower.Base() + grower.Size();
  // Another user of the break (glibc, say) takes the next page.
  auto* foreign = static_cast<std::byte*>(sbrk(4096));
  ASSERT_EQ(foreign, end);
  std::memset(foreign, 0x77, 4096);
  EXPECT_EQ(grower.Grow(4096), 0u);
  EXPECT_FALSE(grower.Shrink(4096));
  EXPECT_EQ(grower.Size(), 4096u);
  for (int i = 0; i < 4096; ++i) ASSERT_EQ(foreign[i], std::byte{0x77});
  // Once the foreign memory is gone the grower carries on.
  ASSERT_NE(sbrk(-4096), reinterpret_cast<void*>(-1));
  EXPECT_EQ(grower.Grow(4096), 4096u);
  EXPECT_TRUE(grower.Shrink(grower.Size()));
}

TEST_F(BrkGrowerTest, HeapOnTheBreakReportsOutOfMemoryInsteadOfOverlapping) {
  const RawMallocOptions options{.trim_threshold = 64 * 1024, .top_pad = 0};
  RawMalloc<BrkGrower> heap(BrkGrower(4096), options);
  void* p = heap.Allocate(1000);
  ASSERT_NE(p, nullptr);
  FillPattern(p, 1000, 1);
  std::byte* const end = heap.grower().Base() + heap.grower().Size();
  auto* foreign = static_cast<std::byte*>(sbrk(4096));
  ASSERT_EQ(foreign, end);
  std::memset(foreign, 0x55, 4096);
  EXPECT_EQ(heap.Allocate(64 * 1024), nullptr);
  EXPECT_EQ(heap.Reallocate(p, 64 * 1024), nullptr);
  EXPECT_EQ(FirstPatternMismatch(p, 1000, 1), 1000u);
  for (int i = 0; i < 4096; ++i) ASSERT_EQ(foreign[i], std::byte{0x55});
  ExpectIntact(heap);
  ASSERT_NE(sbrk(-4096), reinterpret_cast<void*>(-1));
  heap.Deallocate(p);
}

TEST_F(BrkGrowerTest, TrimmingLowersTheBreak) {
  RawMallocOptions options;
  options.trim_threshold = 128 * 1024;
  options.top_pad = 16 * 1024;
  RawMalloc<BrkGrower> heap(BrkGrower(4096), options);
  void* small = heap.Allocate(100);
  void* big = heap.Allocate(1 << 20);
  ASSERT_NE(big, nullptr);
  std::byte* const high = Break();
  heap.Deallocate(big);
  EXPECT_LT(Break(), high - (1 << 19));
  EXPECT_EQ(Break(), heap.grower().Base() + heap.grower().Size());
  ExpectIntact(heap);
  heap.Deallocate(small);
  ASSERT_TRUE(heap.grower().Shrink(heap.grower().Size()));
}

}  // namespace
}  // namespace rusty_malloc
