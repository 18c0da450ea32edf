#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_TRIM_POLICY_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_TRIM_POLICY_H_

#include <algorithm>
#include <cstddef>

#include "allocator/contiguous/header.h"

namespace rusty_malloc {

struct RawMallocOptions {
  // When the free block at the top of the heap reaches this size, all of it
  // but `top_pad` bytes goes back to the grower. The gap between the two
  // keeps an allocate/free cycle near the top from growing and shrinking the
  // heap every time.
  std::size_t trim_threshold = 1024 * 1024;
  std::size_t top_pad = 128 * 1024;
};

// The bytes a trimmed top block keeps: `top_pad`, as a whole block.
[[nodiscard]] constexpr std::size_t TopBytesToKeep(
    const RawMallocOptions& options) {
  return std::max(AlignUp(options.top_pad, kGranule), kMinBlockSize);
}

// Whether a free top block of `top_size` bytes goes back to the grower, down
// to TopBytesToKeep. Asked on every free that reaches the top of the heap,
// so the common answer, below the threshold, costs one comparison.
[[nodiscard]] constexpr bool ShouldTrim(const RawMallocOptions& options,
                                        std::size_t top_size) {
  return top_size >= options.trim_threshold &&
         top_size > TopBytesToKeep(options);
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_TRIM_POLICY_H_
