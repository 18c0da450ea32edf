#ifndef RUSTY_MALLOC_TESTING_RAW_MALLOC_FIXTURE_H_
#define RUSTY_MALLOC_TESTING_RAW_MALLOC_FIXTURE_H_

// The RawMallocTest suite: RawMalloc and RustyMalloc, each over both
// free-block indexes, on a TestGrower the test watches and steers.

#include <cstddef>
#include <cstdint>

#include "allocator/contiguous/freelist.h"
#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/rusty_malloc.h"
#include "allocator/contiguous/segregated_freelist.h"
#include "gtest/gtest.h"
#include "testing/test_growers.h"

namespace rusty_malloc::testing {

// What the TestGrower under a watched heap holds.
inline constexpr std::size_t kCapacity = 8 << 20;

// A grower that forwards to a TestGrower the test owns, so that it can watch
// and steer the growth of a heap that does not hand out its grower
// (RustyMalloc).
class GrowerRef {
 public:
  explicit GrowerRef(TestGrower* grower) : grower_(grower) {}
  std::size_t Grow(std::size_t min_bytes) { return grower_->Grow(min_bytes); }
  bool Shrink(std::size_t bytes) { return grower_->Shrink(bytes); }
  std::byte* Base() const { return grower_->Base(); }
  std::size_t Size() const { return grower_->Size(); }

 private:
  TestGrower* grower_;
};

inline RawMallocOptions NoTrim() {
  RawMallocOptions options;
  options.trim_threshold = SIZE_MAX;
  return options;
}

// A heap of type Heap on a TestGrower of its own.
template <typename Heap>
struct WatchedHeap {
  explicit WatchedHeap(RawMallocOptions options = NoTrim())
      : heap(GrowerRef(&grower), options) {}

  TestGrower grower{kCapacity};
  Heap heap;  // Destroyed first: its destructor still uses the grower.
};

template <typename Heap>
class RawMallocTest : public ::testing::Test {
 protected:
  WatchedHeap<Heap> watched_;
  Heap& heap_ = watched_.heap;
  TestGrower& grower_ = watched_.grower;
};

// RawMalloc's contract, which RustyMalloc shares: every test runs on both,
// each over both free-block indexes.
template <typename... Indexes>
using RawAndRusty = ::testing::Types<RawMalloc<GrowerRef, Indexes>...,
                                     RustyMalloc<GrowerRef, Indexes>...>;
using Heaps = RawAndRusty<FreeList, SegregatedFreeList>;
TYPED_TEST_SUITE(RawMallocTest, Heaps);

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTING_RAW_MALLOC_FIXTURE_H_
