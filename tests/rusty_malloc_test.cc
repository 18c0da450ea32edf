// What RustyMalloc adds to RawMalloc: the lock. The contract it shares with
// RawMalloc is tested on both in raw_malloc_test, raw_malloc_trim_test and
// raw_malloc_misuse_test.

#include "allocator/contiguous/rusty_malloc.h"

#include <cstddef>

#include "growers/mmap_grower.h"
#include "gtest/gtest.h"
#include "testing/stress.h"

namespace rusty_malloc {
namespace {

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
