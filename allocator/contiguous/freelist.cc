#include "allocator/contiguous/freelist.h"

#include "allocator/common/planted_bug.h"

namespace rusty_malloc {

void FreeList::Insert(Block* block) {
  Links* links = LinksOf(block);
  links->SetNext(head_);
  links->SetPrev(nullptr);
  if (head_ != nullptr) LinksOf(head_)->SetPrev(block);
  head_ = block;
}

void FreeList::Remove(Block* block) {
  Links* links = LinksOf(block);
  Block* const next = links->Next();
  Block* const prev = links->Prev();
  if (prev != nullptr) {
    LinksOf(prev)->SetNext(next);
  } else {
    head_ = next;
  }
  if (Planted(PlantedBug::kStaleLink)) return;
  if (next != nullptr) LinksOf(next)->SetPrev(prev);
}

RUSTY_MALLOC_UNCOVERED_WALK RUSTY_MALLOC_METADATA_ACCESS Block*
FreeList::FindFit(std::size_t size, std::size_t align) const {
  for (Block* block = head_; block != nullptr; block = NextOf(block)) {
    if (PlaceAligned(block, size, align) != nullptr) return block;
  }
  return nullptr;
}

HeapReport FreeList::CheckLinks(std::size_t free_blocks,
                                IsFreeBlock is_free_block) const {
  std::size_t count = 0;
  const HeapReport report = WalkLinks(free_blocks, is_free_block, &count);
  if (!report.ok()) return report;
  if (count != free_blocks) {
    return {"free list misses some of the heap's free blocks", head_};
  }
  return {};
}

RUSTY_MALLOC_UNCOVERED_WALK HeapReport FreeList::WalkLinks(
    std::size_t limit, IsFreeBlock is_free_block, std::size_t* count) const {
  *count = 0;
  Block* prev = nullptr;
  for (Block* node = head_; node != nullptr; node = NextOf(node)) {
    if (*count == limit) {
      return {
          "free list holds more nodes than the heap has free blocks "
          "(a cycle or a stale node)",
          node};
    }
    if (!is_free_block(node)) {
      return {"free list links to something that is not a free block", node};
    }
    if (LinksOf(node)->Prev() != prev) {
      return {"free list back link disagrees with its forward link", node};
    }
    prev = node;
    ++*count;
  }
  return {};
}

}  // namespace rusty_malloc
