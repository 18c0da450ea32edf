#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_HEAP_TOP_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_HEAP_TOP_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"
#include "allocator/common/check.h"
#include "allocator/common/released_bytes.h"
#include "allocator/common/sanitizer.h"
#include "allocator/contiguous/alignment.h"
#include "allocator/contiguous/freelist.h"
#include "allocator/contiguous/header.h"
#include "allocator/contiguous/heap_extent.h"
#include "growers/grower.h"

namespace rusty_malloc {

// Where a contiguous heap meets its grower: growing (asking the grower for
// more) and trimming (giving it some back) both happen at the top. Slow
// paths, kept out of line so that the allocation and free paths stay small.

// Asks `grower` for at least `bytes` more and returns the resulting top free
// block, merged with a free block that was on top already and indexed in
// `index`; nullptr if the grower refuses. Lays out the heap's framing on the
// first growth.
template <Grower G, FreeBlockIndex Index>
ABSL_ATTRIBUTE_NOINLINE Block* ExtendHeap(G& grower, Index& index,
                                          std::size_t bytes) {
  const bool fresh = grower.Size() == 0;
  if (fresh) bytes += HeapExtent::kFrameBytes;
  const std::size_t old_size = grower.Size();
  std::byte* const old_end = grower.Base() + old_size;
  const std::size_t added = grower.Grow(bytes);
  if (added == 0) return nullptr;
  // A grower is user code; one that breaks its contract (grower.h) would
  // have the heap lay blocks over memory it does not own. Before the first
  // growth, Base() may be anywhere (MmapGrower's is nullptr).
  RUSTY_MALLOC_CHECK(
      added >= bytes && added % kGrowerAlignment == 0 &&
          grower.Size() == old_size + added &&
          (fresh || grower.Base() + old_size == old_end) &&
          reinterpret_cast<std::uintptr_t>(grower.Base()) % kGrowerAlignment ==
              0,
      old_end);
  const HeapExtent heap = ExtentOf(grower);

  Block* block;
  std::size_t size;
  if (fresh) {
    Poison(heap.base, added);
    block = heap.FirstBlock();
    size = added - HeapExtent::kFrameBytes;
  } else {
    Poison(old_end, added);
    block = Block::At(old_end - kHeaderSize);  // The old end marker.
    size = added;
    if (block->IsPrevFree()) {
      Block* top = block->Prev();
      index.Remove(top);
      size += top->Size();
      block = top;
    }
  }
  block->WriteFree(size, false);
  heap.EndMarker()->WriteOccupied(0, true);
  index.Insert(block);
  return block;
}

// Grows the heap so that a `size`-byte block aligned to `align` fits in its
// top free block, and returns that block; nullptr if the grower refuses.
template <Grower G, FreeBlockIndex Index>
ABSL_ATTRIBUTE_NOINLINE Block* GrowFor(G& grower, Index& index,
                                       std::size_t size, std::size_t align) {
  std::size_t bytes;
  if (grower.Size() == 0) {
    // The first block's address is unknown until the grower has a base.
    bytes = WorstCaseBlockSize(size, align);
  } else {
    Block* end = ExtentOf(grower).EndMarker();
    Block* top = end->IsPrevFree() ? end->Prev() : end;
    const std::size_t have = end->IsPrevFree() ? top->Size() : 0;
    const auto base = reinterpret_cast<std::uintptr_t>(top);
    const std::size_t need = AlignedStart(base, align) - base + size;
    if (need <= have) return top;
    bytes = std::max(need - have, kMinBlockSize);
  }
  return ExtendHeap(grower, index, bytes);
}

// Gives all but the first `keep` bytes of `top`, the free top block of
// `index`'s heap, back to `grower`. A refusal leaves the heap as it was.
template <Grower G, FreeBlockIndex Index>
ABSL_ATTRIBUTE_NOINLINE void TrimTop(G& grower, Index& index, Block* top,
                                     std::size_t keep) {
  const std::size_t release = top->Size() - keep;
  std::byte* const released = top->Address() + keep + kHeaderSize;
  // The bytes leave this heap: clear their poison before anyone reuses them.
  Unpoison(released, release);
  if (!grower.Shrink(release)) {
    Poison(released, release);
    return;
  }
  CountReleased(release);
  index.Remove(top);
  top->WriteFree(keep, false);
  ExtentOf(grower).EndMarker()->WriteOccupied(0, true);
  index.Insert(top);
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_HEAP_TOP_H_
