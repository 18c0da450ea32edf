#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_HEAP_WALK_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_HEAP_WALK_H_

#include <cstddef>
#include <cstdint>

#include "allocator/common/heap_report.h"
#include "allocator/common/sanitizer.h"
#include "allocator/contiguous/header.h"
#include "allocator/contiguous/heap_extent.h"

namespace rusty_malloc {

// Calls `visit(block)` on every block of `heap` in address order, trusting a
// header to lead to the next one only once it has checked it: tagged, a size
// that is a multiple of kGranule, at least kMinBlockSize and inside the heap,
// a prev-free bit that agrees with the block before, no two adjacent free
// blocks, a free block's footer equal to its size; then the end marker.
// Returns the first invariant found broken, having visited the blocks before
// it. A heap with no bytes yet has no blocks and is intact.
template <typename Visit>
[[nodiscard]] RUSTY_MALLOC_UNCOVERED_WALK HeapReport WalkHeap(HeapExtent heap,
                                                              Visit visit) {
  if (heap.empty()) return {};
  if (heap.size < HeapExtent::kFrameBytes + kMinBlockSize) {
    return {"heap is smaller than its framing plus one block", heap.base};
  }
  Block* const end = heap.EndMarker();
  bool prev_free = false;
  Block* block = heap.FirstBlock();
  while (block != end) {
    if (!block->HasValidTag()) {
      return {"block header's check tag does not match (header overwritten)",
              block};
    }
    const std::size_t size = block->Size();
    if (size < kMinBlockSize || size % kGranule != 0) {
      return {"block size is below the minimum or not a multiple of 16", block};
    }
    if (size > static_cast<std::size_t>(end->Address() - block->Address())) {
      return {"block runs past the end of the heap", block};
    }
    if (block->IsPrevFree() != prev_free) {
      return {"prev-free bit disagrees with the previous block", block};
    }
    if (block->IsFree()) {
      if (prev_free) return {"two adjacent free blocks were not merged", block};
      if (block->Footer() != size) {
        return {"free block's footer disagrees with its header", block};
      }
    }
    visit(block);
    prev_free = block->IsFree();
    block = block->Next();
  }
  if (!end->HasValidTag() || end->Size() != 0 || end->IsFree()) {
    return {"end marker is damaged", end};
  }
  if (end->IsPrevFree() != prev_free) {
    return {"end marker's prev-free bit disagrees with the top block", end};
  }
  return {};
}

// The test FreeBlockIndex::CheckLinks applies to an index's nodes: a free,
// tagged header inside `heap`, at a header's alignment. Rejects everything
// in a heap with no bytes yet.
[[nodiscard]] inline auto IsFreeBlockOf(HeapExtent heap) {
  std::uintptr_t low = 0;
  std::uintptr_t high = 0;
  if (!heap.empty()) {
    low = reinterpret_cast<std::uintptr_t>(heap.FirstBlock());
    high = reinterpret_cast<std::uintptr_t>(heap.EndMarker());
  }
  return [low, high](Block* node) RUSTY_MALLOC_UNCOVERED_WALK {
    const auto at = reinterpret_cast<std::uintptr_t>(node);
    return at >= low && at < high && at % kGranule == kHeaderSize &&
           node->HasValidTag() && node->IsFree();
  };
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_HEAP_WALK_H_
