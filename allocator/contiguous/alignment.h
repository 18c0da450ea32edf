#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_ALIGNMENT_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_ALIGNMENT_H_

#include <cstddef>
#include <cstdint>

#include "allocator/common/alignment.h"
#include "allocator/common/sanitizer.h"
#include "allocator/contiguous/header.h"

// Where an aligned block goes inside a free block of the contiguous heap.
namespace rusty_malloc {

// The lowest header address at or above `begin` (a header address, 8 mod 16)
// for a block whose payload is aligned to `align` (a power of two, at least
// kGranule): `begin` itself when its payload is aligned already, otherwise
// past a gap of at least kMinBlockSize, so that the gap can stay free.
[[nodiscard]] constexpr std::uintptr_t AlignedStart(std::uintptr_t begin,
                                                    std::size_t align) {
  if ((begin + kHeaderSize) % align == 0) return begin;
  return AlignUp(begin + kMinBlockSize + kHeaderSize, align) - kHeaderSize;
}

// The free bytes that hold a `size`-byte block aligned to `align` wherever
// they start: `size` plus room for the widest gap AlignedStart can leave.
[[nodiscard]] constexpr std::size_t WorstCaseBlockSize(std::size_t size,
                                                       std::size_t align) {
  return size + (align > kGranule ? align + kMinBlockSize : 0);
}

// Where, inside the free block `block`, an allocation of `size` block bytes
// whose payload is aligned to `align` would start (AlignedStart); nullptr
// when it does not fit. A metadata reader, so that Block::Size inlines here
// under ASan (a no_sanitize function does not inline into an instrumented
// one), and so into the fit searches.
[[nodiscard]] RUSTY_MALLOC_METADATA_ACCESS inline Block* PlaceAligned(
    Block* block, std::size_t size, std::size_t align) {
  const std::size_t available = block->Size();
  // Most blocks a first-fit walk passes are too small for any placement.
  if (size > available) return nullptr;
  const auto begin = reinterpret_cast<std::uintptr_t>(block);
  const std::uintptr_t start = AlignedStart(begin, align);
  if (start - begin > available || size > available - (start - begin)) {
    return nullptr;
  }
  return reinterpret_cast<Block*>(start);
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_ALIGNMENT_H_
