#ifndef RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_FREELIST_H_
#define RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_FREELIST_H_

#include <concepts>
#include <cstddef>

#include "absl/functional/function_ref.h"
#include "allocator/common/heap_report.h"
#include "allocator/common/sanitizer.h"
#include "allocator/contiguous/alignment.h"
#include "allocator/contiguous/header.h"

namespace rusty_malloc {

// What CheckLinks asks of each node: is it a free block of the heap?
using IsFreeBlock = absl::FunctionRef<bool(Block*)>;

// What an allocator needs from the structure that indexes its free blocks.
// The blocks themselves hold the structure's links; the index owns nothing.
//   Insert(block)  `block` is free, has its final size and is not indexed.
//   Remove(block)  `block` is indexed. Callers remove a block before they
//                  change its size and insert it again after.
//   FindFit(size, align)  An indexed block where PlaceAligned(block, size,
//                  align) succeeds, or nullptr. May miss a block that fits
//                  (a segregated index rounds up); never returns one that
//                  does not.
//   CheckLinks(free_blocks, is_free_block)  Walks the links without trusting
//                  them and reports the first inconsistency: a node that
//                  is_free_block rejects, a broken back link, a cycle, or a
//                  node count other than `free_blocks`.
template <typename I>
concept FreeBlockIndex = std::default_initializable<I> &&
    requires(I& index, const I& cindex, Block* block, std::size_t n,
             IsFreeBlock is_free_block) {
  index.Insert(block);
  index.Remove(block);
  { index.FindFit(n, n) } -> std::same_as<Block*>;
  { cindex.CheckLinks(n, is_free_block) } -> std::same_as<HeapReport>;
};

// The original crate's free list: an intrusive doubly linked list through the
// free blocks' payloads, searched first fit from the front, where free()
// pushes. Removal is O(1) thanks to the back link, which is what lets free()
// merge with both neighbours immediately.
class FreeList {
 public:
  constexpr FreeList() = default;
  FreeList(const FreeList&) = delete;
  FreeList& operator=(const FreeList&) = delete;

  // Pushes `block` on the front.
  void Insert(Block* block);
  void Remove(Block* block);
  // The first block from the front that fits (see FreeBlockIndex).
  [[nodiscard]] Block* FindFit(std::size_t size, std::size_t align) const;
  [[nodiscard]] HeapReport CheckLinks(std::size_t free_blocks,
                                      IsFreeBlock is_free_block) const;
  // Walks at most `limit` nodes checking each as CheckLinks does, and stores
  // how many it saw in `*count`; reports a list longer than `limit`.
  [[nodiscard]] HeapReport WalkLinks(std::size_t limit,
                                     IsFreeBlock is_free_block,
                                     std::size_t* count) const;

  [[nodiscard]] Block* Front() const { return head_; }
  [[nodiscard]] bool empty() const { return head_ == nullptr; }
  // The node after `block` in list order, or nullptr.
  [[nodiscard]] RUSTY_MALLOC_METADATA_ACCESS static Block* NextOf(
      Block* block) {
    return LinksOf(block)->Next();
  }

 private:
  // Lives in a free block's payload, right after its header.
  struct Links {
    Block* next;
    Block* prev;
    RUSTY_MALLOC_METADATA_ACCESS Block* Next() const { return next; }
    RUSTY_MALLOC_METADATA_ACCESS Block* Prev() const { return prev; }
    RUSTY_MALLOC_METADATA_ACCESS void SetNext(Block* b) { next = b; }
    RUSTY_MALLOC_METADATA_ACCESS void SetPrev(Block* b) { prev = b; }
  };
  static_assert(kHeaderSize + sizeof(Links) + sizeof(std::size_t) <=
                kMinBlockSize);

  // The payload's address, computed here rather than by Block::Payload so
  // that it inlines into the metadata readers under ASan.
  RUSTY_MALLOC_METADATA_ACCESS static Links* LinksOf(Block* block) {
    return reinterpret_cast<Links*>(reinterpret_cast<std::byte*>(block) +
                                    kHeaderSize);
  }

  Block* head_ = nullptr;
};

static_assert(FreeBlockIndex<FreeList>);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_CONTIGUOUS_FREELIST_H_
