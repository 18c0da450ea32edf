// Under ASan, heap metadata and free blocks are poisoned, so client bugs
// that land on them are reported by ASan itself. Without ASan these tests
// have nothing to check and skip.

#include <cstddef>
#include <cstring>

#include "allocator/common/sanitizer.h"
#include "allocator/contiguous/raw_malloc.h"
#include "gtest/gtest.h"
#include "testing/test_growers.h"

namespace rusty_malloc {
namespace {

using ::rusty_malloc::testing::TestGrower;

bool IsPoisoned(const void* p) {
#ifdef RUSTY_MALLOC_HAS_ASAN
  return __asan_address_is_poisoned(p) != 0;
#else
  (void)p;
  return false;
#endif
}

class RawMallocAsanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!kAsanPoisoning) GTEST_SKIP() << "built without AddressSanitizer";
  }
  RawMalloc<TestGrower> heap_{TestGrower(1 << 20)};
};

TEST_F(RawMallocAsanTest, LiveBlocksAreClientMemoryAndMetadataIsNot) {
  auto* p = static_cast<std::byte*>(heap_.Allocate(100));
  const std::size_t usable = heap_.UsableSize(p);
  for (std::size_t i = 0; i < usable; ++i) ASSERT_FALSE(IsPoisoned(p + i)) << i;
  EXPECT_TRUE(IsPoisoned(p - 1));       // Own header.
  EXPECT_TRUE(IsPoisoned(p + usable));  // Next header.
  heap_.Deallocate(p);
  for (std::size_t i = 0; i < usable; ++i) ASSERT_TRUE(IsPoisoned(p + i)) << i;
}

TEST_F(RawMallocAsanTest, ReallocInPlaceMovesThePoisonBoundary) {
  auto* p = static_cast<std::byte*>(heap_.Allocate(1000));
  ASSERT_NE(heap_.Allocate(16), nullptr);  // Keeps p off the top.
  ASSERT_EQ(heap_.Reallocate(p, 100), p);
  const std::size_t usable = heap_.UsableSize(p);
  EXPECT_FALSE(IsPoisoned(p + usable - 1));
  EXPECT_TRUE(IsPoisoned(p + usable));
  ASSERT_EQ(heap_.Reallocate(p, 900), p);
  EXPECT_FALSE(IsPoisoned(p + 899));
}

TEST_F(RawMallocAsanTest, UseAfterFreeIsReported) {
  auto* p = static_cast<volatile char*>(heap_.Allocate(64));
  ASSERT_NE(heap_.Allocate(16), nullptr);  // Keeps p off the top.
  heap_.Deallocate(const_cast<char*>(p));
  EXPECT_DEATH(p[10] = 1, "use-after-poison");
}

TEST_F(RawMallocAsanTest, OverflowIntoTheNextHeaderIsReported) {
  auto* p = static_cast<volatile char*>(heap_.Allocate(24));
  ASSERT_NE(heap_.Allocate(24), nullptr);
  const std::size_t usable = heap_.UsableSize(const_cast<char*>(p));
  p[usable - 1] = 1;  // Still the client's.
  EXPECT_DEATH(p[usable] = 1, "use-after-poison");
}

TEST_F(RawMallocAsanTest, DestroyedHeapLeavesItsBufferUnpoisoned) {
  alignas(16) static std::byte storage[8192];
  {
    RawMalloc<BufferGrower> heap{BufferGrower(storage)};
    heap.Deallocate(heap.Allocate(100));
    ASSERT_NE(heap.Allocate(200), nullptr);
  }
  for (std::byte& b : storage) ASSERT_FALSE(IsPoisoned(&b));
}

}  // namespace
}  // namespace rusty_malloc
