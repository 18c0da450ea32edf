#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_TRIM_POLICY_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_TRIM_POLICY_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "allocator/contiguous/header.h"

namespace rusty_malloc {

struct RawMallocOptions {
  // When the free block at the top of the heap reaches this size, all of it
  // but `top_pad` bytes goes back to the grower. The gap between the two
  // keeps an allocate/free cycle near the top from growing and shrinking the
  // heap every time.
  std::size_t trim_threshold = 1024 * 1024;
  std::size_t top_pad = 128 * 1024;
  // When a free leaves a free block of at least this size inside the heap,
  // the whole pages the freed block covered inside it go back to the OS
  // (where the grower can decommit), so that a large free block below a
  // live one does not stay resident. 0: never.
  std::size_t decommit_threshold = 1024 * 1024;
};

// The page-aligned range strictly inside the free block [free_begin,
// free_end) that overlaps the freed range [freed_begin, freed_end): what
// may be decommitted without touching the free block's header, links or
// footer. Empty (begin >= end) when there is no whole page.
struct PageRange {
  std::uintptr_t begin;
  std::uintptr_t end;
};
[[nodiscard]] constexpr PageRange DecommittablePages(std::uintptr_t free_begin,
                                                     std::uintptr_t free_end,
                                                     std::uintptr_t freed_begin,
                                                     std::uintptr_t freed_end,
                                                     std::size_t page) {
  // The header and free-list links live in the first 64 bytes, the footer
  // in the last word.
  const std::uintptr_t low = std::max(free_begin + 64, freed_begin);
  const std::uintptr_t high = std::min(free_end - 8, freed_end);
  return {(low + page - 1) / page * page, high / page * page};
}

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
