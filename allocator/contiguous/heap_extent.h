#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_HEAP_EXTENT_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_HEAP_EXTENT_H_

#include <cstddef>

#include "allocator/contiguous/header.h"
#include "growers/grower.h"

namespace rusty_malloc {

// A contiguous heap's bytes, [base, base + size) as its grower holds them,
// and the framing laid on them:
//
//   [pad 8][block][block]...[end marker 8]
//
// The pad puts every header at 8 mod 16, so payloads are 16-aligned; the end
// marker is an occupied zero-size header, so merging and growth never test
// for the end. A heap with no bytes yet (size 0) has no framing either.
struct HeapExtent {
  // Bytes of heap framing: the leading pad and the end marker.
  static constexpr std::size_t kFrameBytes = 2 * kHeaderSize;

  bool empty() const { return size == 0; }
  // These two only for a heap that is not empty.
  Block* FirstBlock() const { return Block::At(base + kHeaderSize); }
  Block* EndMarker() const { return Block::At(base + size - kHeaderSize); }

  std::byte* base;
  std::size_t size;
};

template <Grower G>
[[nodiscard]] HeapExtent ExtentOf(const G& grower) {
  return {grower.Base(), grower.Size()};
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_HEAP_EXTENT_H_
