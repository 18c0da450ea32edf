// RawMalloc at the edges of its contract: sizes around every rounding and
// overflow boundary up to SIZE_MAX, every power-of-two alignment up to
// 64 KiB and invalid ones, realloc to 0 and from null. HeapModel knows which
// requests must fail and checks that failures change nothing.

#include <cstddef>
#include <cstdint>

#include "allocator/contiguous/freelist.h"
#include "allocator/contiguous/header.h"
#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/segregated_freelist.h"
#include "fuzz/fuzz_input.h"
#include "testing/heap_model.h"
#include "testing/test_growers.h"

namespace rusty_malloc::fuzzing {
namespace {

constexpr std::size_t kLargest = kMaxBlockSize - kHeaderSize - kGranule;

constexpr std::size_t kEdgeSizes[] = {
    0,
    1,
    7,
    8,
    9,
    15,
    16,
    17,
    23,
    24,
    25,
    31,
    32,
    33,
    40,
    41,
    4095,
    4096,
    4097,
    65535,
    65536,
    65537,
    1 << 20,
    (1 << 20) + 1,
    kLargest - 1,
    kLargest,
    kLargest + 1,
    kMaxBlockSize - 1,
    kMaxBlockSize,
    SIZE_MAX / 2,
    SIZE_MAX - 31,
    SIZE_MAX - 16,
    SIZE_MAX - 15,
    SIZE_MAX - 8,
    SIZE_MAX - 7,
    SIZE_MAX - 1,
    SIZE_MAX,
};

std::size_t EdgeSize(FuzzInput& in) {
  const std::uint8_t b = in.Byte();
  constexpr std::size_t kCount = sizeof(kEdgeSizes) / sizeof(kEdgeSizes[0]);
  if (b < kCount * 6) return kEdgeSizes[b % kCount];
  return in.Size();
}

template <typename Index>
void Run(FuzzInput& in) {
  RawMalloc<testing::TestGrower, Index> heap(testing::TestGrower(32 << 20));
  testing::HeapModel model(heap);
  for (int ops = 0; ops < 1024 && !in.empty(); ++ops) {
    switch (in.Byte() % 6) {
      case 0: {
        const std::size_t n = EdgeSize(in);
        Require(model.Allocate(n, in.Alignment()));
        break;
      }
      case 1: {
        const std::size_t index = in.Byte();
        const std::size_t n = EdgeSize(in);
        Require(model.Reallocate(index, n, in.Alignment()));
        break;
      }
      case 2:
        Require(model.Reallocate(in.Byte(), 0, kGranule));
        break;
      case 3: {
        const std::size_t n = EdgeSize(in);
        Require(model.ReallocateNull(n, in.Alignment()));
        break;
      }
      case 4:
        Require(model.Free(in.Byte()));
        break;
      default:
        Require(model.CheckUsableSize(in.Byte()));
        break;
    }
    Require(model.CheckWhenDue());
  }
  Require(model.FreeAll());
}

}  // namespace

// The first byte picks the fit policy.
void FuzzOne(FuzzInput& in) {
  if (in.Byte() & 1) {
    Run<SegregatedFreeList>(in);
  } else {
    Run<FreeList>(in);
  }
}

}  // namespace rusty_malloc::fuzzing
