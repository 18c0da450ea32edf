#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_RAW_MALLOC_VERIFY_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_RAW_MALLOC_VERIFY_H_

// RawMalloc's invariant check and statistics: walks of the whole heap.
// Included by raw_malloc.h only.
#include "allocator/contiguous/raw_malloc.h"

namespace rusty_malloc {

template <Grower G, FreeBlockIndex Index>
HeapReport RawMalloc<G, Index>::Verify() {
  std::size_t free_blocks = 0;
  const HeapReport report = WalkHeap(extent(), [&free_blocks](Block* block) {
    free_blocks += block->IsFree();
  });
  if (!report.ok()) return report;
  return index_.CheckLinks(free_blocks, IsFreeBlockOf(extent()));
}

template <Grower G, FreeBlockIndex Index>
HeapStats RawMalloc<G, Index>::Stats() {
  HeapStats stats;
  stats.heap_bytes = grower_.Size();
  if (stats.heap_bytes != 0) stats.overhead_bytes = HeapExtent::kFrameBytes;
  // Growers that reserve ahead (MmapGrower) say how much; for the others
  // the heap is all there is.
  stats.reserved_bytes = stats.committed_bytes = stats.heap_bytes;
  if constexpr (requires { grower_.Reserved() + grower_.Committed(); }) {
    stats.reserved_bytes = grower_.Reserved();
    stats.committed_bytes = grower_.Committed();
  }
  stats.resident_bytes = ResidentBytes(grower_.Base(), stats.committed_bytes);
  static_cast<void>(WalkHeap(extent(), [&stats](Block* block) {
    const std::size_t size = block->Size();
    if (block->IsFree()) {
      stats.free_bytes += size;
      ++stats.free_blocks;
      stats.largest_free_block = std::max(stats.largest_free_block, size);
    } else {
      stats.allocated_bytes += size;
      ++stats.allocated_blocks;
    }
  }));
  return stats;
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_RAW_MALLOC_VERIFY_H_
