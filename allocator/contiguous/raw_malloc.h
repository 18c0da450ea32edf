#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_RAW_MALLOC_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_RAW_MALLOC_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "allocator/common/heap_report.h"
#include "allocator/common/os_memory.h"
#include "allocator/common/planted_bug.h"
#include "allocator/common/realloc_by_moving.h"
#include "allocator/common/released_bytes.h"
#include "allocator/common/resident.h"
#include "allocator/common/sanitizer.h"
#include "allocator/contiguous/alignment.h"
#include "allocator/contiguous/carve.h"
#include "allocator/contiguous/freelist.h"
#include "allocator/contiguous/header.h"
#include "allocator/contiguous/heap_extent.h"
#include "allocator/contiguous/heap_top.h"
#include "allocator/contiguous/heap_walk.h"
#include "allocator/contiguous/live_block.h"
#include "allocator/contiguous/trim_policy.h"
#include "growers/grower.h"

namespace rusty_malloc {

// The single-threaded allocator: one contiguous heap from grower G, laid out
// as HeapExtent describes and split into blocks, free blocks indexed by Index
// (first fit by default, as in the original crate).
//
// Beyond the original crate: free merges with both neighbours at once, growth
// extends a free block at the top instead of stranding it, realloc resizes in
// place where the neighbours allow, and a large free top goes back to the
// grower (RawMallocOptions).
template <Grower G, FreeBlockIndex Index = FreeList>
class RawMalloc {
 public:
  // Touches nothing until the first allocation, so a RawMalloc can be a
  // constant-initialised global that works before main().
  constexpr explicit RawMalloc(G grower, RawMallocOptions options = {})
      : grower_(std::move(grower)), options_(options) {}

  RawMalloc(const RawMalloc&) = delete;
  RawMalloc& operator=(const RawMalloc&) = delete;

  // Blocks still allocated become invalid with the heap. The memory is handed
  // back unpoisoned, so a caller's buffer is ordinary memory again.
  ~RawMalloc() { Unpoison(grower_.Base(), grower_.Size()); }

  // Returns `size` bytes aligned to `align`, or nullptr when `align` is not
  // valid (IsValidAlignment), `size` is too large to represent, or the
  // grower refuses to grow. Size 0 gives a unique, freeable pointer.
  [[nodiscard]] void* Allocate(std::size_t size, std::size_t align = kGranule);

  // Frees a block from Allocate or Reallocate; nullptr is a no-op. Aborts
  // with a message naming `ptr` when it is not a live block of this heap.
  void Deallocate(void* ptr);

  // Resizes a live block to `size` bytes, keeping its contents up to the
  // smaller size: in place when the block shrinks, when a free right
  // neighbour or heap growth gives it room, otherwise by moving it to a block
  // aligned to `align`. nullptr `ptr` allocates. Returns nullptr and leaves
  // the block untouched when the new size cannot be served.
  [[nodiscard]] void* Reallocate(void* ptr, std::size_t size,
                                 std::size_t align = kGranule);

  // Resizes a live block without moving it, as Reallocate would; returns
  // false and changes nothing when that needs a move.
  [[nodiscard]] bool ResizeInPlace(void* ptr, std::size_t size);

  // Bytes usable at a live block's address: at least what was asked.
  [[nodiscard]] std::size_t UsableSize(void* ptr) {
    return CheckedBlock(extent(), ptr)->UsableSize();
  }

  // Whether `ptr` is a live block of this heap, by the same checks that
  // Deallocate aborts on, without aborting.
  [[nodiscard]] bool IsLiveBlock(const void* ptr) const {
    return WhyNotLive(extent(), ptr) == nullptr;
  }

  // Walks the heap (WalkHeap) and its free index and names the first broken
  // invariant; the index must hold exactly the free blocks, without cycles.
  [[nodiscard]] ABSL_ATTRIBUTE_NOINLINE HeapReport Verify();

  // malloc_trim: the free top block back to the grower (all but a minimal
  // block), and where the grower can decommit, the whole pages inside every
  // other free block, whatever the thresholds. O(blocks).
  ABSL_ATTRIBUTE_NOINLINE void ReleaseFreeMemory();

  // Occupancy by a heap walk: O(blocks). On a damaged heap, counts the
  // blocks before the damage that Verify() names.
  [[nodiscard]] ABSL_ATTRIBUTE_NOINLINE HeapStats Stats();

  G& grower() { return grower_; }
  const RawMallocOptions& options() const { return options_; }

 private:
  HeapExtent extent() const { return ExtentOf(grower_); }

  // Turns the occupied (and already poisoned) `block` into a free block,
  // merging it with free neighbours, and trims the heap if it ends on top.
  void FreeAndMerge(Block* block);
  // Gives back the whole pages that [freed, freed_end) covered inside the
  // free block it merged into, when the grower can decommit.
  ABSL_ATTRIBUTE_NOINLINE void DecommitFreed(Block* free_block,
                                             std::size_t size, Block* freed,
                                             Block* freed_end);

  G grower_;
  RawMallocOptions options_;
  Index index_;
};

template <Grower G, FreeBlockIndex Index>
void* RawMalloc<G, Index>::Allocate(std::size_t size, std::size_t align) {
  if (ABSL_PREDICT_FALSE(!IsValidAlignment(align))) return nullptr;
  align = std::max(align, kGranule);
  const std::size_t block_size = BlockSizeFor(size);
  if (ABSL_PREDICT_FALSE(block_size == 0)) return nullptr;
  Block* block = index_.FindFit(block_size, align);
  if (ABSL_PREDICT_FALSE(block == nullptr)) {
    block = GrowFor(grower_, index_, block_size, align);
    if (block == nullptr) return nullptr;
  }
  return Carve(index_, block, block_size, align);
}

template <Grower G, FreeBlockIndex Index>
void RawMalloc<G, Index>::Deallocate(void* ptr) {
  if (ABSL_PREDICT_FALSE(ptr == nullptr)) return;
  Block* block = CheckedBlock(extent(), ptr);
  Poison(block->Payload(), block->UsableSize());
  FreeAndMerge(block);
}

template <Grower G, FreeBlockIndex Index>
void* RawMalloc<G, Index>::Reallocate(void* ptr, std::size_t size,
                                      std::size_t align) {
  if (ptr == nullptr) return Allocate(size, align);
  if (!IsValidAlignment(align)) return nullptr;
  if (reinterpret_cast<std::uintptr_t>(ptr) % align == 0 &&
      ResizeInPlace(ptr, size)) {
    return ptr;
  }
  return ReallocByMoving(*this, ptr, UsableSize(ptr), size, align);
}

template <Grower G, FreeBlockIndex Index>
bool RawMalloc<G, Index>::ResizeInPlace(void* ptr, std::size_t size) {
  Block* block = CheckedBlock(extent(), ptr);
  const std::size_t new_size = BlockSizeFor(size);
  if (new_size == 0) return false;
  const std::size_t old_size = block->Size();
  const bool prev_free = block->IsPrevFree();

  if (new_size <= old_size) {
    const std::size_t rest = old_size - new_size;
    if (rest < kMinBlockSize) return true;
    block->WriteOccupied(new_size, prev_free);
    Block* tail = block->Next();
    Poison(tail, rest);
    tail->WriteOccupied(rest, false);
    FreeAndMerge(tail);
    return true;
  }

  Block* next = block->Next();
  std::size_t available = old_size + (next->IsFree() ? next->Size() : 0);
  if (available < new_size) {
    Block* const end = extent().EndMarker();
    const bool on_top = next == end || (next->IsFree() && next->Next() == end);
    if (!on_top) return false;
    const std::size_t more = std::max(new_size - available, kMinBlockSize);
    if (ExtendHeap(grower_, index_, more) == nullptr) return false;
    next = block->Next();
    available = old_size + next->Size();
  }

  index_.Remove(next);
  const std::size_t taken =
      OccupyFront(index_, block, available, new_size, prev_free);
  Unpoison(block->Address() + old_size, taken - old_size);
  return true;
}

template <Grower G, FreeBlockIndex Index>
void RawMalloc<G, Index>::FreeAndMerge(Block* block) {
  std::size_t size = block->Size();
  Block* start = block;
  Block* next = block->Next();
  // Mark the header free even when it is about to be absorbed by its left
  // neighbour: a second free of the same pointer must still see "free".
  block->WriteFree(size, block->IsPrevFree());
  if (block->IsPrevFree() && !Planted(PlantedBug::kSkipLeftMerge)) {
    start = block->Prev();
    index_.Remove(start);
    size += start->Size();
  }
  if (next->IsFree()) {
    index_.Remove(next);
    size += next->Size();
  }
  start->WriteFree(size, start->IsPrevFree());
  Block* after = start->Next();
  after->SetPrevFree(true);
  index_.Insert(start);
  if (after == extent().EndMarker()) {
    if (ABSL_PREDICT_FALSE(ShouldTrim(options_, size))) {
      TrimTop(grower_, index_, start, TopBytesToKeep(options_));
    }
    return;
  }
  if constexpr (DecommittingGrower<G>) {
    if (ABSL_PREDICT_FALSE(options_.decommit_threshold != 0 &&
                           size >= options_.decommit_threshold)) {
      DecommitFreed(start, size, block, next);
    }
  }
}

template <Grower G, FreeBlockIndex Index>
void RawMalloc<G, Index>::DecommitFreed(Block* free_block, std::size_t size,
                                        Block* freed, Block* freed_end) {
  const std::size_t kPage = OsPageSize();
  const auto begin = reinterpret_cast<std::uintptr_t>(free_block);
  PageRange pages = DecommittablePages(
      begin, begin + size, reinterpret_cast<std::uintptr_t>(freed),
      reinterpret_cast<std::uintptr_t>(freed_end), kPage);
  if (Planted(PlantedBug::kDecommitRoundsOutward) && pages.begin < pages.end) {
    pages = {begin / kPage * kPage, (begin + size + kPage - 1) / kPage * kPage};
  }
  if (pages.begin < pages.end) {
    grower_.Decommit(reinterpret_cast<std::byte*>(pages.begin),
                     pages.end - pages.begin);
    CountReleased(pages.end - pages.begin);
  }
}

template <Grower G, FreeBlockIndex Index>
void RawMalloc<G, Index>::ReleaseFreeMemory() {
  if (grower_.Size() == 0) return;
  Block* const end = extent().EndMarker();
  if (end->IsPrevFree()) {
    Block* const top = end->Prev();
    if (top->Size() > kMinBlockSize) {
      TrimTop(grower_, index_, top, kMinBlockSize);
    }
  }
  if constexpr (DecommittingGrower<G>) {
    static_cast<void>(WalkHeap(extent(), [this](Block* block) {
      if (block->IsFree()) {
        DecommitFreed(block, block->Size(), block, block->Next());
      }
    }));
  }
}

}  // namespace rusty_malloc

#include "allocator/contiguous/raw_malloc_verify.h"  // IWYU pragma: export

#endif  // RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_RAW_MALLOC_H_
