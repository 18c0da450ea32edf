#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_LIVE_BLOCK_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_LIVE_BLOCK_H_

#include <cstdint>

#include "absl/base/optimization.h"
#include "allocator/common/misuse.h"
#include "allocator/contiguous/header.h"
#include "allocator/contiguous/heap_extent.h"

namespace rusty_malloc {

// The pointer checks every free, realloc and size query makes before it
// trusts a client's pointer: cheap enough for the fast path (bounds and two
// header tags), inline so that they stay on it.

// Why `ptr` is not a live block of `heap`, or nullptr if it is one.
[[nodiscard]] inline const char* WhyNotLive(HeapExtent heap, const void* ptr) {
  static constexpr char kNotAStart[] =
      "pointer is not the start of a block of this heap, or the block's "
      "header was overwritten";
  const auto address = reinterpret_cast<std::uintptr_t>(ptr);
  const auto base = reinterpret_cast<std::uintptr_t>(heap.base);
  const std::uintptr_t end = base + heap.size;
  if (heap.empty() || address % kGranule != 0 ||
      address < base + HeapExtent::kFrameBytes || address >= end) {
    return "pointer was not allocated by this heap";
  }
  Block* block = Block::FromPayload(const_cast<void*>(ptr));
  // A live block has a tagged header of at least kMinBlockSize that ends at
  // or before the end marker, and the tagged header after it knows it is not
  // free. Headers the heap leaves behind inside other blocks are free ones
  // (caught below as double frees) or old end markers (size 0). A pointer
  // into a payload passes only if user data forges two tags.
  if (!block->HasValidTag() || block->Size() < kMinBlockSize ||
      block->Size() > end - address) {
    return kNotAStart;
  }
  if (block->IsFree()) return "double free, or use of a freed block";
  const Block* next = block->Next();
  if (!next->HasValidTag() || next->IsPrevFree()) {
    return kNotAStart;
  }
  return nullptr;
}

// The live block at `ptr` in `heap`, or an abort naming `ptr`.
[[nodiscard]] inline Block* CheckedBlock(HeapExtent heap, void* ptr) {
  const char* const why = WhyNotLive(heap, ptr);
  if (ABSL_PREDICT_FALSE(why != nullptr)) ReportMisuse(why, ptr);
  return Block::FromPayload(ptr);
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_LIVE_BLOCK_H_
