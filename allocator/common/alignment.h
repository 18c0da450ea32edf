#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_ALIGNMENT_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_ALIGNMENT_H_

#include <cstddef>
#include <cstdint>

// The alignment terms every heap shares.
namespace rusty_malloc {

// The unit of block sizes and payload addresses in every heap, and so the
// alignment malloc gives without being asked (alignof(max_align_t)).
inline constexpr std::size_t kGranule = 16;

// Alignments above this are refused rather than risk overflow in placement:
// half of the largest block the contiguous heap represents.
inline constexpr std::size_t kMaxAlignment = std::size_t{1} << 46;

// True for the alignments the allocators accept: powers of two up to
// kMaxAlignment. Alignments below kGranule are served at kGranule.
[[nodiscard]] constexpr bool IsValidAlignment(std::size_t align) {
  return align != 0 && (align & (align - 1)) == 0 && align <= kMaxAlignment;
}

// Rounds `n` up to a multiple of `align`, a power of two. `n` must leave room.
[[nodiscard]] constexpr std::uintptr_t AlignUp(std::uintptr_t n,
                                               std::size_t align) {
  return (n + align - 1) & ~static_cast<std::uintptr_t>(align - 1);
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_ALIGNMENT_H_
