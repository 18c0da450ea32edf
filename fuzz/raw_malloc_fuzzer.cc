// Drives RawMalloc over each grower (buffer, mmap, brk) through HeapModel:
// allocate (size, alignment), free, realloc and usable-size queries, with
// contents patterns, overlap checks and Verify() after every operation.
// The first byte picks the grower and the fit policy (first fit or
// segregated), the second the trim settings.

#include <cstddef>
#include <cstdint>

#include "allocator/contiguous/freelist.h"
#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/segregated_freelist.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/model_ops.h"
#include "growers/brk_grower.h"
#include "growers/mmap_grower.h"
#include "testing/test_growers.h"

namespace rusty_malloc::fuzzing {
namespace {

RawMallocOptions Options(std::uint8_t b) {
  RawMallocOptions options;
  if (b % 2 == 0) {
    options.trim_threshold = std::size_t{4096} << (b % 8);
    options.top_pad = std::size_t{16} << (b % 12);
  }
  return options;
}

template <typename Index>
void Run(std::uint8_t grower, const RawMallocOptions& options, FuzzInput& in) {
  switch (grower % 3) {
    case 0: {
      RawMalloc<testing::TestGrower, Index> heap(testing::TestGrower(64 << 20),
                                                 options);
      RunModelOps(heap, in);
      break;
    }
    case 1: {
      RawMalloc<MmapGrower, Index> heap(MmapGrower(std::size_t{1} << 30),
                                        options);
      RunModelOps(heap, in);
      break;
    }
    default: {
      RawMalloc<BrkGrower, Index> heap(BrkGrower(4096), options);
      RunModelOps(heap, in);
      // Hand the whole break back (the heap is empty) so that inputs do not
      // accumulate it; refused if something else moved the break since.
      heap.grower().Shrink(heap.grower().Size());
      break;
    }
  }
}

}  // namespace

void FuzzOne(FuzzInput& in) {
  const std::uint8_t grower = in.Byte();
  const RawMallocOptions options = Options(in.Byte());
  if (grower & 0x80) {
    Run<SegregatedFreeList>(grower, options, in);
  } else {
    Run<FreeList>(grower, options, in);
  }
}

}  // namespace rusty_malloc::fuzzing
