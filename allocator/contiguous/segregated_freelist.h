#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_SEGREGATED_FREELIST_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_SEGREGATED_FREELIST_H_

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "allocator/common/heap_report.h"
#include "allocator/contiguous/alignment.h"
#include "allocator/contiguous/freelist.h"
#include "allocator/contiguous/header.h"

namespace rusty_malloc {

// Segregated fit in the manner of TLSF (Masmano et al., 2004): free blocks
// sit in one FreeList per size class, and two levels of bitmaps say which
// classes are non-empty, so FindFit is a few bit operations whatever the
// number of free blocks. Classes are 16 bytes apart below 256 bytes; above,
// each power of two splits into 16 classes, so a block found by rounding the
// request up to a class boundary wastes at most 1/16 of it.
//
// A drop-in alternative to FreeList's first fit (see FreeBlockIndex), over
// the same blocks, merging and growers.
class SegregatedFreeList {
 public:
  struct SizeClass {
    int first;   // Power-of-two range; 0 for the linear classes below 256.
    int second;  // Sixteenth within it.
    bool operator==(const SizeClass&) const = default;
  };

  static constexpr int kSecondLevelLog2 = 4;
  static constexpr int kSecondLevels = 1 << kSecondLevelLog2;
  static constexpr int kLinearLog2 = kSecondLevelLog2 + 4;  // 256 bytes.
  // Blocks are smaller than kMaxBlockSize = 2^47.
  static constexpr int kFirstLevels = 47 - kLinearLog2 + 1;

  constexpr SegregatedFreeList() = default;
  SegregatedFreeList(const SegregatedFreeList&) = delete;
  SegregatedFreeList& operator=(const SegregatedFreeList&) = delete;

  void Insert(Block* block);
  void Remove(Block* block);
  // O(1). Tries the head of the request's own class first (a good fit for
  // repeated sizes), then the head of the first non-empty class whose every
  // block fits even after an alignment gap.
  [[nodiscard]] Block* FindFit(std::size_t size, std::size_t align) const;
  // Also checks that every block sits in its size's class and that the
  // bitmaps say exactly which classes are non-empty.
  [[nodiscard]] HeapReport CheckLinks(std::size_t free_blocks,
                                      IsFreeBlock is_free_block) const;

  // The class whose size range holds `size` (at least kMinBlockSize).
  [[nodiscard]] static SizeClass ClassOf(std::size_t size);
  // The smallest size in `c`.
  [[nodiscard]] static std::size_t LowerBound(SizeClass c);

 private:
  FreeList& ListOf(SizeClass c) { return lists_[c.first][c.second]; }

  FreeList lists_[kFirstLevels][kSecondLevels];
  std::uint64_t first_bitmap_ = 0;
  std::uint32_t second_bitmaps_[kFirstLevels] = {};
};

static_assert(FreeBlockIndex<SegregatedFreeList>);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_SEGREGATED_FREELIST_H_
