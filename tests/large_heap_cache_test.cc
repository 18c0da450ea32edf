// LargeHeap's cache of freed mappings: its bounds, the purge delay after
// which what it keeps goes back, and ASan poisoning of what it keeps.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "allocator/common/heap_report.h"
#include "allocator/common/sanitizer.h"
#include "allocator/large/large_heap.h"
#include "gtest/gtest.h"
#include "testing/large_heap_checks.h"

// In the testing namespace, so its helpers need no using-declarations.
namespace rusty_malloc::testing {
namespace {

// Pages a cut leaves kept go back a purge delay after their block was freed,
// though the pages beside them were reused since; the block in use stays.
TEST(LargeHeapTest, WhatACutLeavesGoesBackAfterThePurgeDelay) {
  LargeHeapOptions options;
  options.purge_delay_ns = 200'000'000;
  LargeHeap heap(options);
  bool zeroed;
  auto* p = static_cast<char*>(heap.Allocate(16 * kMiB, &zeroed));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, 16 * kMiB);
  ASSERT_TRUE(heap.TryDeallocate(p));
  auto* q = static_cast<char*>(heap.Allocate(kMiB, &zeroed));
  ASSERT_EQ(q, p);
  EXPECT_TRUE(Mapped(p + 8 * kMiB));
  EXPECT_EQ(heap.Stats().free_bytes, 15 * kMiB);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  heap.ReleaseExpired();
  EXPECT_FALSE(Mapped(p + kMiB));
  EXPECT_FALSE(Mapped(p + 15 * kMiB));
  EXPECT_EQ(heap.Stats().free_bytes, 0u);
  EXPECT_TRUE(Mapped(q));
  q[kMiB - 1] = 2;
  ASSERT_TRUE(heap.TryDeallocate(q));
  // Freed now, it stays until its own delay has passed.
  heap.ReleaseExpired();
  EXPECT_TRUE(Mapped(q));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  heap.ReleaseExpired();
  EXPECT_FALSE(Mapped(q));
  EXPECT_TRUE(heap.Verify().ok());
}

TEST(LargeHeapTest, BlocksAboveTheCacheEntryLimitGoBackAtOnce) {
  LargeHeap heap(NeverPurge());
  bool zeroed;
  auto* p = static_cast<char*>(heap.Allocate(64 * kMiB, &zeroed));
  ASSERT_NE(p, nullptr);
  p[0] = 1;
  ASSERT_TRUE(heap.TryDeallocate(p));
  EXPECT_FALSE(Mapped(p));
  EXPECT_EQ(heap.Stats().heap_bytes, 0u);
}

TEST(LargeHeapTest, TheCacheStaysWithinItsBounds) {
  LargeHeapOptions options = NeverPurge();
  options.cache_bytes_max = 10 * kMiB;
  LargeHeap heap(options);
  std::vector<void*> blocks;
  bool zeroed;
  for (int i = 0; i < 40; ++i) {
    blocks.push_back(heap.Allocate(kMiB, &zeroed));
    ASSERT_NE(blocks.back(), nullptr);
  }
  for (void* p : blocks) ASSERT_TRUE(heap.TryDeallocate(p));
  const HeapStats stats = heap.Stats();
  EXPECT_LE(stats.free_bytes, 10 * kMiB);
  EXPECT_LE(stats.free_blocks, 16u);
  EXPECT_TRUE(heap.Verify().ok());
  heap.ReleaseCached();
  EXPECT_EQ(heap.Stats().free_bytes, 0u);
  for (void* p : blocks) EXPECT_FALSE(Mapped(p));
}

TEST(LargeHeapTest, KeptMappingsGoBackAfterThePurgeDelay) {
  LargeHeapOptions options;
  options.purge_delay_ns = 0;
  LargeHeap heap(options);
  bool zeroed;
  void* p = heap.Allocate(2 * kMiB, &zeroed);
  void* q = heap.Allocate(2 * kMiB, &zeroed);
  ASSERT_NE(p, nullptr);
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(heap.TryDeallocate(p));
  // Any later call purges what has waited the (zero) delay.
  ASSERT_TRUE(heap.TryDeallocate(q));
  EXPECT_FALSE(Mapped(p));
  EXPECT_LE(heap.Stats().free_blocks, 1u);
}

TEST(LargeHeapTest, KeptMappingsArePoisonedUnderAsan) {
  if (!kAsanPoisoning) GTEST_SKIP() << "needs ASan";
  LargeHeap heap(NeverPurge());
  bool zeroed;
  auto* p = static_cast<char*>(heap.Allocate(kMiB, &zeroed));
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(heap.TryDeallocate(p));
  EXPECT_TRUE(AnyPoisoned(p, kMiB));
  EXPECT_EQ(heap.Allocate(kMiB, &zeroed), p);
  EXPECT_FALSE(AnyPoisoned(p, kMiB));
  ASSERT_TRUE(heap.TryDeallocate(p));
  heap.ReleaseCached();
  EXPECT_FALSE(AnyPoisoned(p, kMiB));  // Unmapped, shadow clean.
}

// A block cut from a kept range is client memory; what stays kept is not.
TEST(LargeHeapTest, WhatACutLeavesStaysPoisonedUnderAsan) {
  if (!kAsanPoisoning) GTEST_SKIP() << "needs ASan";
  LargeHeap heap(NeverPurge());
  bool zeroed;
  auto* p = static_cast<char*>(heap.Allocate(16 * kMiB, &zeroed));
  ASSERT_NE(p, nullptr);
  ASSERT_TRUE(heap.TryDeallocate(p));
  ASSERT_EQ(heap.Allocate(kMiB, &zeroed), p);
  EXPECT_FALSE(AnyPoisoned(p, kMiB));
  EXPECT_TRUE(AnyPoisoned(p + kMiB, LargeHeap::kOsPage));
  EXPECT_TRUE(
      AnyPoisoned(p + 16 * kMiB - LargeHeap::kOsPage, LargeHeap::kOsPage));
  ASSERT_TRUE(heap.TryDeallocate(p));
  EXPECT_TRUE(AnyPoisoned(p, LargeHeap::kOsPage));
  heap.ReleaseCached();
  EXPECT_FALSE(AnyPoisoned(p, 16 * kMiB));  // Unmapped, shadow clean.
}

}  // namespace
}  // namespace rusty_malloc::testing
