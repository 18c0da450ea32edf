#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_CARVE_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_CARVE_H_

#include <cstddef>

#include "allocator/common/planted_bug.h"
#include "allocator/common/sanitizer.h"
#include "allocator/contiguous/alignment.h"
#include "allocator/contiguous/freelist.h"
#include "allocator/contiguous/header.h"

namespace rusty_malloc {

// Makes the first `size` of the `available` bytes at `block` (a run of free
// bytes no index holds, after a free block iff `prev_free`) an occupied
// block, and indexes the rest in `index` as a free block when it is big
// enough to be one; otherwise the occupied block takes all `available`
// bytes. Returns the occupied block's size. Poisoning is the caller's.
template <FreeBlockIndex Index>
std::size_t OccupyFront(Index& index, Block* block, std::size_t available,
                        std::size_t size, bool prev_free) {
  const std::size_t rest = available - size;
  if (rest >= kMinBlockSize) {
    block->WriteOccupied(size, prev_free);
    constexpr std::size_t kSkew =
        Planted(PlantedBug::kSplitOffByOneWord) ? sizeof(void*) : 0;
    Block* tail = Block::At(block->Address() + size + kSkew);
    tail->WriteFree(rest - kSkew, false);
    index.Insert(tail);
    return size;
  }
  block->WriteOccupied(available, prev_free);
  block->Next()->SetPrevFree(false);
  return available;
}

// Takes an allocation of `size` block bytes aligned to `align` out of
// `block`, a free block of `index` that fits it (PlaceAligned), and returns
// its unpoisoned payload. The alignment gap in front and any rest behind
// that can stand alone stay free and indexed.
template <FreeBlockIndex Index>
void* Carve(Index& index, Block* block, std::size_t size, std::size_t align) {
  Block* start = PlaceAligned(block, size, align);
  index.Remove(block);
  std::size_t available = block->Size();
  bool prev_free = false;
  if (start != block) {
    const std::size_t gap =
        static_cast<std::size_t>(start->Address() - block->Address());
    block->WriteFree(gap, false);
    index.Insert(block);
    available -= gap;
    prev_free = true;
  }
  OccupyFront(index, start, available, size, prev_free);
  Unpoison(start->Payload(), start->UsableSize());
  return start->Payload();
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_CARVE_H_
