// Long random operation sequences against RawMalloc and RustyMalloc over
// both free-block indexes, checked step by step by HeapModel
// (testing/heap_model.h): patterns checked before free and after realloc, no
// overlaps, failures that change nothing, Verify() after every operation.

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

#include "allocator/contiguous/freelist.h"
#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/rusty_malloc.h"
#include "allocator/contiguous/segregated_freelist.h"
#include "gtest/gtest.h"
#include "testing/heap_model.h"
#include "testing/test_growers.h"

namespace rusty_malloc {
namespace {

using ::rusty_malloc::testing::HeapModel;
using ::rusty_malloc::testing::TestGrower;

std::size_t RandomSize(std::mt19937_64& random) {
  const unsigned bucket = random() % 100;
  if (bucket < 70) return random() % 128;
  if (bucket < 90) return random() % 4096;
  if (bucket < 99) return random() % 65536;
  return random() % (1 << 20);
}

std::size_t RandomAlign(std::mt19937_64& random) {
  if (random() % 5 != 0) return kGranule;
  return std::size_t{1} << (random() % 17);  // 1 to 64 KiB.
}

RawMallocOptions Trimming(bool trim) {
  RawMallocOptions options;
  if (trim) {
    options.trim_threshold = 64 * 1024;
    options.top_pad = 16 * 1024;
  } else {
    options.trim_threshold = SIZE_MAX;
  }
  return options;
}

template <typename Heap>
void RunAgainstTheModel(std::uint64_t seed, bool trim) {
  std::mt19937_64 random(seed);
  Heap heap(TestGrower(16 << 20), Trimming(trim));
  HeapModel model(heap);
  for (int step = 0; step < 4000; ++step) {
    const unsigned op = random() % 100;
    std::string error;
    if (op < 45) {
      error = model.Allocate(RandomSize(random), RandomAlign(random));
    } else if (op < 80) {
      error = model.Free(random());
    } else if (op < 95) {
      error =
          model.Reallocate(random(), RandomSize(random), RandomAlign(random));
    } else {
      error = model.CheckUsableSize(random());
    }
    if (error.empty()) error = model.Check();
    ASSERT_EQ(error, "") << "at step " << step;
  }
  EXPECT_EQ(model.FreeAll(), "");
}

template <typename Heap>
class DifferentialTest : public ::testing::Test {};

// Every configuration: both heaps, each over both free-block indexes.
using Heaps = ::testing::Types<RawMalloc<TestGrower, FreeList>,
                               RawMalloc<TestGrower, SegregatedFreeList>,
                               RustyMalloc<TestGrower, FreeList>,
                               RustyMalloc<TestGrower, SegregatedFreeList>>;
TYPED_TEST_SUITE(DifferentialTest, Heaps);

TYPED_TEST(DifferentialTest, MatchesTheModel) {
  for (const std::uint64_t seed : {1, 2, 3, 4}) {
    for (const bool trim : {false, true}) {
      SCOPED_TRACE(::testing::Message()
                   << "seed " << seed << ", trim " << trim);
      RunAgainstTheModel<TypeParam>(seed, trim);
    }
  }
}

}  // namespace
}  // namespace rusty_malloc
