#include "allocator/contiguous/segregated_freelist.h"

#include <bit>

namespace rusty_malloc {

SegregatedFreeList::SizeClass SegregatedFreeList::ClassOf(std::size_t size) {
  if (size < (std::size_t{1} << kLinearLog2)) {
    return {0, static_cast<int>(size / kGranule)};
  }
  const int log2 = static_cast<int>(std::bit_width(size)) - 1;
  return {log2 - kLinearLog2 + 1,
          static_cast<int>((size >> (log2 - kSecondLevelLog2)) &
                           (kSecondLevels - 1))};
}

std::size_t SegregatedFreeList::LowerBound(SizeClass c) {
  if (c.first == 0) return static_cast<std::size_t>(c.second) * kGranule;
  const int log2 = c.first + kLinearLog2 - 1;
  return (static_cast<std::size_t>(kSecondLevels + c.second))
         << (log2 - kSecondLevelLog2);
}

void SegregatedFreeList::Insert(Block* block) {
  const SizeClass c = ClassOf(block->Size());
  ListOf(c).Insert(block);
  first_bitmap_ |= std::uint64_t{1} << c.first;
  second_bitmaps_[c.first] |= std::uint32_t{1} << c.second;
}

void SegregatedFreeList::Remove(Block* block) {
  const SizeClass c = ClassOf(block->Size());
  FreeList& list = ListOf(c);
  list.Remove(block);
  if (list.empty()) {
    second_bitmaps_[c.first] &= ~(std::uint32_t{1} << c.second);
    if (second_bitmaps_[c.first] == 0) {
      first_bitmap_ &= ~(std::uint64_t{1} << c.first);
    }
  }
}

RUSTY_MALLOC_METADATA_ACCESS Block* SegregatedFreeList::FindFit(
    std::size_t size, std::size_t align) const {
  const SizeClass own = ClassOf(size);
  if (own.first < kFirstLevels) {
    Block* head = lists_[own.first][own.second].Front();
    if (head != nullptr && PlaceAligned(head, size, align) != nullptr) {
      return head;
    }
  }
  // Every block of at least `need` bytes fits, alignment gap included.
  const std::size_t need = WorstCaseBlockSize(size, align);
  SizeClass c = ClassOf(need);
  if (LowerBound(c) < need) {
    if (++c.second == kSecondLevels) {
      c.second = 0;
      ++c.first;
    }
  }
  if (c.first >= kFirstLevels) return nullptr;
  std::uint32_t second =
      second_bitmaps_[c.first] & (~std::uint32_t{0} << c.second);
  int first = c.first;
  if (second == 0) {
    const std::uint64_t above =
        first_bitmap_ & (~std::uint64_t{0} << (c.first + 1));
    if (above == 0) return nullptr;
    first = std::countr_zero(above);
    second = second_bitmaps_[first];
  }
  return lists_[first][std::countr_zero(second)].Front();
}

RUSTY_MALLOC_UNCOVERED_WALK HeapReport SegregatedFreeList::CheckLinks(
    std::size_t free_blocks, IsFreeBlock is_free_block) const {
  std::size_t total = 0;
  for (int first = 0; first < kFirstLevels; ++first) {
    for (int second = 0; second < kSecondLevels; ++second) {
      const SizeClass c{first, second};
      std::size_t count = 0;
      const HeapReport report = lists_[first][second].WalkLinks(
          free_blocks - total,
          [&](Block* node) RUSTY_MALLOC_UNCOVERED_WALK {
            return is_free_block(node) && ClassOf(node->Size()) == c;
          },
          &count);
      if (!report.ok()) return report;
      const bool marked = (second_bitmaps_[first] >> second) & 1;
      if (marked != (count > 0)) {
        return {"segregated bitmap disagrees with its size class's list",
                lists_[first][second].Front()};
      }
      total += count;
    }
    if (((first_bitmap_ >> first) & 1) != (second_bitmaps_[first] != 0)) {
      return {"segregated first-level bitmap disagrees with the second level",
              nullptr};
    }
  }
  if (total != free_blocks) {
    return {"segregated lists miss some of the heap's free blocks", nullptr};
  }
  return {};
}

}  // namespace rusty_malloc
