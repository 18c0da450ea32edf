#include "allocator/contiguous/rusty_malloc.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "growers/mmap_grower.h"
#include "gtest/gtest.h"
#include "testing/patterns.h"
#include "testing/stress.h"

namespace rusty_malloc {
namespace {

using ::rusty_malloc::testing::FillPattern;
using ::rusty_malloc::testing::FirstPatternMismatch;

TEST(RustyMallocTest, ServesTheRawMallocContract) {
  RustyMalloc<MmapGrower> heap(MmapGrower(64 << 20));
  void* p = heap.Allocate(100, 256);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 256, 0u);
  EXPECT_GE(heap.UsableSize(p), 100u);
  FillPattern(p, 100, 1);
  void* guard = heap.Allocate(16);
  void* q = heap.Reallocate(p, 5000);
  ASSERT_NE(q, nullptr);
  EXPECT_NE(q, p);
  EXPECT_EQ(FirstPatternMismatch(q, 100, 1), 100u);
  EXPECT_TRUE(heap.ResizeInPlace(q, 10));
  EXPECT_EQ(heap.Allocate(1, 3), nullptr);
  EXPECT_EQ(heap.Reallocate(q, SIZE_MAX), nullptr);
  heap.Deallocate(q);
  heap.Deallocate(guard);
  heap.Deallocate(nullptr);
  EXPECT_TRUE(heap.Verify().ok()) << heap.Verify().ToString();
  EXPECT_EQ(heap.Stats().allocated_blocks, 0u);
}

TEST(RustyMallocDeathTest, MisuseAbortsWithTheLockHeld) {
  RustyMalloc<MmapGrower> heap(MmapGrower(64 << 20));
  void* p = heap.Allocate(16);
  heap.Allocate(16);
  heap.Deallocate(p);
  EXPECT_DEATH(heap.Deallocate(p), "double free");
}

constinit RustyMalloc<MmapGrower> global_heap{MmapGrower(1 << 30)};

TEST(RustyMallocTest, IsConstantInitialisable) {
  void* p = global_heap.Allocate(10);
  ASSERT_NE(p, nullptr);
  global_heap.Deallocate(p);
}

TEST(RustyMallocStressTest, SixteenThreadsKeepTheirContents) {
  RustyMalloc<MmapGrower> heap(MmapGrower(std::size_t{1} << 32));
  ::rusty_malloc::testing::RunVectorStress(heap);
}

}  // namespace
}  // namespace rusty_malloc
