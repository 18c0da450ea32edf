#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_RAW_MALLOC_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_RAW_MALLOC_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "allocator/common/heap_report.h"
#include "allocator/common/misuse.h"
#include "allocator/common/planted_bug.h"
#include "allocator/common/realloc_by_moving.h"
#include "allocator/common/sanitizer.h"
#include "allocator/contiguous/freelist.h"
#include "allocator/contiguous/header.h"
#include "growers/grower.h"

namespace rusty_malloc {

// Alignments above this are refused rather than risk overflow in placement.
inline constexpr std::size_t kMaxAlignment = kMaxBlockSize >> 1;

// True for the alignments the allocators accept: powers of two up to
// kMaxAlignment. Alignments below kGranule are served at kGranule.
constexpr bool IsValidAlignment(std::size_t align) {
  return align != 0 && (align & (align - 1)) == 0 && align <= kMaxAlignment;
}

struct RawMallocOptions {
  // When the free block at the top of the heap reaches this size, all of it
  // but `top_pad` bytes goes back to the grower. The gap between the two
  // keeps an allocate/free cycle near the top from growing and shrinking the
  // heap every time.
  std::size_t trim_threshold = 1024 * 1024;
  std::size_t top_pad = 128 * 1024;
};

// The single-threaded allocator: one contiguous heap from grower G, split
// into blocks, free blocks indexed by Index (first fit by default, as in the
// original crate).
//
// Heap layout: [pad 8][block][block]...[end marker 8]. The pad puts every
// header at 8 mod 16, so payloads are 16-aligned; the end marker is an
// occupied zero-size header, so merging and growth never test for the end.
//
// Beyond the original crate: free merges with both neighbours at once, growth
// extends a free block at the top instead of stranding it, realloc resizes in
// place where the neighbours allow, and a large free top goes back to the
// grower.
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
  void* Allocate(std::size_t size, std::size_t align = kGranule);

  // Frees a block from Allocate or Reallocate; nullptr is a no-op. Aborts
  // with a message naming `ptr` when it is not a live block of this heap.
  void Deallocate(void* ptr);

  // Resizes a live block to `size` bytes, keeping its contents up to the
  // smaller size: in place when the block shrinks, when a free right
  // neighbour or heap growth gives it room, otherwise by moving it to a block
  // aligned to `align`. nullptr `ptr` allocates. Returns nullptr and leaves
  // the block untouched when the new size cannot be served.
  void* Reallocate(void* ptr, std::size_t size, std::size_t align = kGranule);

  // Resizes a live block without moving it, as Reallocate would; returns
  // false and changes nothing when that needs a move.
  bool ResizeInPlace(void* ptr, std::size_t size);

  // Bytes usable at a live block's address: at least what was asked.
  std::size_t UsableSize(void* ptr);

  // Whether `ptr` is a live block of this heap, by the same checks that
  // Deallocate aborts on, without aborting.
  bool IsLiveBlock(const void* ptr) const;

  // Walks the heap and its free index and names the first broken invariant:
  // headers consistent and tagged, no two adjacent free blocks, footers
  // matching, sizes adding up to the grower's extent, and the index holding
  // exactly the free blocks, without cycles.
  HeapReport Verify();

  // Occupancy by a heap walk: O(blocks).
  HeapStats Stats();

  G& grower() { return grower_; }
  const RawMallocOptions& options() const { return options_; }

 private:
  // Bytes of heap framing: the leading pad and the end marker.
  static constexpr std::size_t kFrameBytes = 2 * kHeaderSize;

  Block* FirstBlock() const { return Block::At(grower_.Base() + kHeaderSize); }
  Block* EndMarker() const {
    return Block::At(grower_.Base() + grower_.Size() - kHeaderSize);
  }

  // Why `ptr` is not a live block of this heap, or nullptr if it is one.
  const char* WhyNotLive(const void* ptr) const;
  // The live block at `ptr`, or an abort naming `ptr`.
  Block* CheckedBlock(void* ptr) const;

  // Takes an allocation of `size` block bytes aligned to `align` out of the
  // free block `block`, which must fit it, and returns its payload. Splits
  // off the alignment gap in front and any usable rest behind as free blocks.
  void* Carve(Block* block, std::size_t size, std::size_t align);

  // Grows the heap so that a `size`-byte block aligned to `align` fits in
  // its top free block, and returns that block; nullptr if the grower
  // refuses.
  Block* GrowFor(std::size_t size, std::size_t align);

  // Asks the grower for at least `bytes` more and returns the resulting top
  // free block, merged with a free block that was on top already.
  Block* ExtendHeap(std::size_t bytes);

  // Turns the occupied (and already poisoned) `block` into a free block,
  // merging it with free neighbours, and trims the heap if it ends on top.
  void Release(Block* block);

  // Gives most of a large free top block back to the grower.
  void MaybeTrim(Block* top);

  G grower_;
  RawMallocOptions options_;
  Index index_;
};

template <Grower G, FreeBlockIndex Index>
void* RawMalloc<G, Index>::Allocate(std::size_t size, std::size_t align) {
  if (!IsValidAlignment(align)) return nullptr;
  align = std::max(align, kGranule);
  const std::size_t block_size = BlockSizeFor(size);
  if (block_size == 0) return nullptr;
  Block* block = index_.FindFit(block_size, align);
  if (block == nullptr) {
    block = GrowFor(block_size, align);
    if (block == nullptr) return nullptr;
  }
  return Carve(block, block_size, align);
}

template <Grower G, FreeBlockIndex Index>
void RawMalloc<G, Index>::Deallocate(void* ptr) {
  if (ptr == nullptr) return;
  Block* block = CheckedBlock(ptr);
  Poison(block->Payload(), block->UsableSize());
  Release(block);
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
  return ReallocByMoving(*this, ptr, CheckedBlock(ptr)->UsableSize(), size,
                         align);
}

template <Grower G, FreeBlockIndex Index>
bool RawMalloc<G, Index>::ResizeInPlace(void* ptr, std::size_t size) {
  Block* block = CheckedBlock(ptr);
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
    Release(tail);
    return true;
  }

  Block* next = block->Next();
  std::size_t available = old_size + (next->IsFree() ? next->Size() : 0);
  if (available < new_size) {
    const bool on_top =
        next == EndMarker() || (next->IsFree() && next->Next() == EndMarker());
    if (!on_top) return false;
    if (ExtendHeap(std::max(new_size - available, kMinBlockSize)) == nullptr) {
      return false;
    }
    next = block->Next();
    available = old_size + next->Size();
  }

  index_.Remove(next);
  std::size_t taken = available;
  if (available - new_size >= kMinBlockSize) {
    taken = new_size;
    block->WriteOccupied(new_size, prev_free);
    Block* tail = block->Next();
    tail->WriteFree(available - new_size, false);
    index_.Insert(tail);
  } else {
    block->WriteOccupied(available, prev_free);
    block->Next()->SetPrevFree(false);
  }
  Unpoison(block->Address() + old_size, taken - old_size);
  return true;
}

template <Grower G, FreeBlockIndex Index>
std::size_t RawMalloc<G, Index>::UsableSize(void* ptr) {
  return CheckedBlock(ptr)->UsableSize();
}

template <Grower G, FreeBlockIndex Index>
const char* RawMalloc<G, Index>::WhyNotLive(const void* ptr) const {
  const auto address = reinterpret_cast<std::uintptr_t>(ptr);
  const auto base = reinterpret_cast<std::uintptr_t>(grower_.Base());
  const std::uintptr_t end = base + grower_.Size();
  if (grower_.Size() == 0 || address % kGranule != 0 ||
      address < base + kFrameBytes || address >= end) {
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
    return "pointer is not the start of a block of this heap, or the block's "
           "header was overwritten";
  }
  if (block->IsFree()) return "double free, or use of a freed block";
  const Block* next = block->Next();
  if (!next->HasValidTag() || next->IsPrevFree()) {
    return "pointer is not the start of a block of this heap, or the block's "
           "header was overwritten";
  }
  return nullptr;
}

template <Grower G, FreeBlockIndex Index>
bool RawMalloc<G, Index>::IsLiveBlock(const void* ptr) const {
  return WhyNotLive(ptr) == nullptr;
}

template <Grower G, FreeBlockIndex Index>
Block* RawMalloc<G, Index>::CheckedBlock(void* ptr) const {
  if (const char* why = WhyNotLive(ptr)) ReportMisuse(why, ptr);
  return Block::FromPayload(ptr);
}

template <Grower G, FreeBlockIndex Index>
void* RawMalloc<G, Index>::Carve(Block* block, std::size_t size,
                                 std::size_t align) {
  Block* start = PlaceAligned(block, size, align);
  index_.Remove(block);
  std::size_t available = block->Size();
  bool prev_free = false;
  if (start != block) {
    const std::size_t gap =
        static_cast<std::size_t>(start->Address() - block->Address());
    block->WriteFree(gap, false);
    index_.Insert(block);
    available -= gap;
    prev_free = true;
  }
  const std::size_t rest = available - size;
  if (rest >= kMinBlockSize) {
    start->WriteOccupied(size, prev_free);
    constexpr std::size_t kSkew =
        Planted(PlantedBug::kSplitOffByOneWord) ? sizeof(void*) : 0;
    Block* tail = Block::At(start->Address() + size + kSkew);
    tail->WriteFree(rest - kSkew, false);
    index_.Insert(tail);
  } else {
    start->WriteOccupied(available, prev_free);
    start->Next()->SetPrevFree(false);
  }
  Unpoison(start->Payload(), start->UsableSize());
  return start->Payload();
}

template <Grower G, FreeBlockIndex Index>
Block* RawMalloc<G, Index>::GrowFor(std::size_t size, std::size_t align) {
  std::size_t bytes;
  if (grower_.Size() == 0) {
    // The first block's address is unknown until the grower has a base;
    // leave room for the worst alignment gap.
    bytes = size + (align > kGranule ? align + kMinBlockSize : 0);
  } else {
    Block* end = EndMarker();
    Block* top = end->IsPrevFree() ? end->Prev() : end;
    const std::size_t have = end->IsPrevFree() ? top->Size() : 0;
    const auto base = reinterpret_cast<std::uintptr_t>(top);
    std::uintptr_t start = base;
    if ((base + kHeaderSize) % align != 0) {
      start = AlignUp(base + kMinBlockSize + kHeaderSize, align) - kHeaderSize;
    }
    const std::size_t need = start - base + size;
    if (need <= have) return top;
    bytes = std::max(need - have, kMinBlockSize);
  }
  return ExtendHeap(bytes);
}

template <Grower G, FreeBlockIndex Index>
Block* RawMalloc<G, Index>::ExtendHeap(std::size_t bytes) {
  const bool fresh = grower_.Size() == 0;
  if (fresh) bytes += kFrameBytes;
  std::byte* const old_end = grower_.Base() + grower_.Size();
  const std::size_t added = grower_.Grow(bytes);
  if (added == 0) return nullptr;

  Block* block;
  std::size_t size;
  if (fresh) {
    Poison(grower_.Base(), added);
    block = FirstBlock();
    size = added - kFrameBytes;
  } else {
    Poison(old_end, added);
    block = Block::At(old_end - kHeaderSize);  // The old end marker.
    size = added;
    if (block->IsPrevFree()) {
      Block* top = block->Prev();
      index_.Remove(top);
      size += top->Size();
      block = top;
    }
  }
  block->WriteFree(size, false);
  EndMarker()->WriteOccupied(0, true);
  index_.Insert(block);
  return block;
}

template <Grower G, FreeBlockIndex Index>
void RawMalloc<G, Index>::Release(Block* block) {
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
  if (after == EndMarker()) MaybeTrim(start);
}

template <Grower G, FreeBlockIndex Index>
void RawMalloc<G, Index>::MaybeTrim(Block* top) {
  const std::size_t size = top->Size();
  if (size < options_.trim_threshold) return;
  const std::size_t keep =
      std::max(AlignUp(options_.top_pad, kGranule), kMinBlockSize);
  if (size <= keep) return;
  const std::size_t release = size - keep;
  std::byte* const released = top->Address() + keep + kHeaderSize;
  // The bytes leave this heap: clear their poison before anyone reuses them.
  Unpoison(released, release);
  if (!grower_.Shrink(release)) {
    Poison(released, release);
    return;
  }
  index_.Remove(top);
  top->WriteFree(keep, false);
  EndMarker()->WriteOccupied(0, true);
  index_.Insert(top);
}

template <Grower G, FreeBlockIndex Index>
HeapReport RawMalloc<G, Index>::Verify() {
  if (grower_.Size() == 0) {
    return index_.CheckLinks(0, [](Block*) { return false; });
  }
  if (grower_.Size() < kFrameBytes + kMinBlockSize) {
    return {"heap is smaller than its framing plus one block", grower_.Base()};
  }
  Block* const end = EndMarker();
  std::size_t free_blocks = 0;
  bool prev_free = false;
  Block* block = FirstBlock();
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
      ++free_blocks;
    }
    prev_free = block->IsFree();
    block = block->Next();
  }
  if (!end->HasValidTag() || end->Size() != 0 || end->IsFree()) {
    return {"end marker is damaged", end};
  }
  if (end->IsPrevFree() != prev_free) {
    return {"end marker's prev-free bit disagrees with the top block", end};
  }
  const auto low = reinterpret_cast<std::uintptr_t>(FirstBlock());
  const auto high = reinterpret_cast<std::uintptr_t>(end);
  return index_.CheckLinks(free_blocks, [low, high](Block* node) {
    const auto at = reinterpret_cast<std::uintptr_t>(node);
    return at >= low && at < high && at % kGranule == kHeaderSize &&
           node->HasValidTag() && node->IsFree();
  });
}

template <Grower G, FreeBlockIndex Index>
HeapStats RawMalloc<G, Index>::Stats() {
  HeapStats stats;
  stats.heap_bytes = grower_.Size();
  if (grower_.Size() == 0) return stats;
  stats.overhead_bytes = kFrameBytes;
  Block* const end = EndMarker();
  for (Block* block = FirstBlock(); block != end; block = block->Next()) {
    const std::size_t size = block->Size();
    if (block->IsFree()) {
      stats.free_bytes += size;
      ++stats.free_blocks;
      stats.largest_free_block = std::max(stats.largest_free_block, size);
    } else {
      stats.allocated_bytes += size;
      ++stats.allocated_blocks;
    }
  }
  return stats;
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_RAW_MALLOC_H_
