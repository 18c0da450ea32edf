#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PAGE_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PAGE_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/optimization.h"
#include "allocator/common/check.h"
#include "allocator/common/heap_report.h"
#include "allocator/common/planted_bug.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/free_block.h"
#include "allocator/per_thread/size_classes.h"

// What a thread heap does to one page of blocks (PageInfo, chunk.h), apart
// from the fast paths. Only the owning thread may call these, except
// OnBlockBoundary, which any thread may.
namespace rusty_malloc {

// Whether `ptr` is where a block of `page` starts, within the part of the
// page linked into use so far. False for a page not in use and for a span's
// later pages (linked_bytes is zero there).
// `start` and `linked` are the page's, loaded by the caller to use again.
inline bool OnBlockBoundary(const PageInfo& page, const void* ptr,
                            std::uintptr_t start, std::uint32_t linked) {
  const std::uintptr_t offset = reinterpret_cast<std::uintptr_t>(ptr) - start;
  // In range, the offset is below a span's size, so 32 bits hold it.
  return offset < linked &&
         IsMultiple(static_cast<std::uint32_t>(offset), page.block_magic);
}
inline bool OnBlockBoundary(const PageInfo& page, const void* ptr) {
  return OnBlockBoundary(page, ptr,
                         reinterpret_cast<std::uintptr_t>(page.start),
                         page.linked_bytes.load(std::memory_order_relaxed));
}

// Whether `block`, a block of `page` (OnBlockBoundary), reads as free: its
// first word decodes to the end of a list or to a block of the page. A
// block in use has its link cleared when handed out (free_block.h), so this
// is false for it unless the program wrote exactly such a word there.
inline bool LooksFree(const PageInfo& page, const void* block,
                      std::uintptr_t key = per_thread_internal::LinkKey()) {
  const auto next =
      reinterpret_cast<std::uintptr_t>(per_thread_internal::NextOf(block, key));
  return next - reinterpret_cast<std::uintptr_t>(page.start) <
             page.linked_bytes.load(std::memory_order_relaxed) ||
         next == 0;
}

// Links more of the page's untouched blocks into its free list, as many as
// fill kFreshBlockBytes (at least one): a fresh page costs memory only as it
// fills. Linking each block touches it, so four blocks at a time from 1 KiB
// up cost many threads' heaps 15 to 25% more peak memory for no measurable
// speed. False when none are left.
inline constexpr std::size_t kFreshBlockBytes = 4096;
// Whether LinkFreshBlocks would find blocks left in `page`, a page in use.
inline bool HasFreshRoom(const PageInfo& page) {
  return page.linked_bytes.load(std::memory_order_relaxed) / page.block_size <
         page.capacity;
}
inline bool LinkFreshBlocks(PageInfo* page) {
  const std::uint32_t linked =
      page->linked_bytes.load(std::memory_order_relaxed);
  const std::uint32_t extended = linked / page->block_size;
  const std::uint32_t left = page->capacity - extended;
  if (left == 0) return false;
  const std::uint32_t count = std::min(
      left,
      std::max(std::uint32_t{1}, static_cast<std::uint32_t>(kFreshBlockBytes /
                                                            page->block_size)));
  const std::uintptr_t key = per_thread_internal::LinkKey();
  void* list = page->free;
  for (std::uint32_t i = extended + count; i-- > extended;) {
    void* block = page->start + std::size_t{i} * page->block_size;
    per_thread_internal::SetNext(block, list, key);
    list = block;
  }
  page->free = list;
  page->linked_bytes.store(linked + count * page->block_size,
                           std::memory_order_relaxed);
  return true;
}

// Puts `page` and the SpanPagesOf(cls) - 1 pages after it, none in use, to
// use for blocks of class `cls` from `start`, with the first blocks linked.
inline void StartPage(PageInfo* page, std::byte* start, int cls) {
  RUSTY_MALLOC_DCHECK(page->size_class == kPageUnused, page);
  const std::size_t block_size = ClassSize(cls);
  const int span = SpanPagesOf(cls);
  page->start = start;
  page->block_size = static_cast<std::uint32_t>(block_size);
  page->block_magic = DivisibilityMagic(page->block_size);
  page->capacity = static_cast<std::uint32_t>(span * kPageSize / block_size);
  OwnerStore(page->used, std::uint32_t{0});
  page->linked_bytes.store(0, std::memory_order_relaxed);
  OwnerStore(page->size_class, static_cast<std::int16_t>(cls));
  page->span_pages = static_cast<std::uint8_t>(span);
  page->free = nullptr;
  for (int k = 1; k < span; ++k) {
    OwnerStore(page[k].size_class, kPageContinues);
    OwnerStore(page[k].span_back, static_cast<std::uint8_t>(k));
  }
  LinkFreshBlocks(page);
}

// Takes `page`, a page in use with no blocks in use, and the rest of its
// span out of use. Its free list is left as it is, dead until StartPage:
// a thread reclaiming an idle heap's page (ThreadHeap::ReclaimIfIdle) must
// not write what the owner's last local free may have written unordered.
inline void StopPage(PageInfo* page) {
  RUSTY_MALLOC_DCHECK(
      page->size_class >= 0 && InUse(SharedLoad(page->used)) == 0, page);
  const int span = Planted(PlantedBug::kSpanLeftMarked) ? 1 : page->span_pages;
  for (int k = 1; k < span; ++k) {
    OwnerStore(page[k].size_class, kPageUnused);
    OwnerStore(page[k].span_back, std::uint8_t{0});
  }
  OwnerStore(page->size_class, kPageUnused);
  page->linked_bytes.store(0, std::memory_order_relaxed);
}

// Reports a free list whose link from `block` leads out of its page's blocks
// (a freed block written to). Never returns.
[[noreturn]] void ReportCorruptFreeList(void* block);

// Moves the page's remote frees onto its free list. Every link is checked
// as the local pop checks it (a block freed by another thread and then
// written to must not lead the owner astray), and so is the count: a list
// longer than the blocks in use loops or holds a block twice.
// The length of `list`, a remote list taken off `page`, and its last block
// in `*last`; every link checked, and the length held to `most` (the
// blocks in use), as CollectRemoteFrees says.
inline std::uint32_t WalkRemoteList(const PageInfo& page, void* list,
                                    std::uint32_t most, std::uintptr_t key,
                                    void** last) {
  std::uint32_t count = 0;
  for (void* b = list; b != nullptr;) {
    void* next = per_thread_internal::NextOf(b, key);
    if (ABSL_PREDICT_FALSE((next != nullptr && !OnBlockBoundary(page, next)) ||
                           ++count > most)) {
      ReportCorruptFreeList(b);
    }
    *last = b;
    b = next;
  }
  return count;
}

inline void CollectRemoteFrees(PageInfo* page) {
  if (page->thread_free.load(std::memory_order_relaxed) == nullptr) return;
  void* list = page->thread_free.exchange(nullptr, std::memory_order_acquire);
  const std::uintptr_t key = per_thread_internal::LinkKey();
  void* last = nullptr;
  const std::uint32_t count =
      WalkRemoteList(*page, list, InUse(page->used), key, &last);
  per_thread_internal::SetNext(last, page->free, key);
  page->free = list;
  if (Planted(PlantedBug::kCollectForgetsCount)) return;
  // `used` first, and the count with release: statistics read the count
  // first, and must count these blocks once at most, not twice.
  OwnerStore(page->used, page->used - count);
  page->remote_count.fetch_sub(count, std::memory_order_release);
}

// The first broken invariant of `page`, a page in use that should start at
// `start`: its descriptor and its span's, both its free lists, its counts.
// Only while no thread allocates or frees in it.
HeapReport VerifyPage(const PageInfo& page, const std::byte* start);

// Adds the chunk to `stats`: its pages' blocks, the rest of it as overhead,
// and its resident memory. Safe while its owner allocates and frees in it
// and other threads free into it: it reads only what the owner writes
// atomically (OwnerStore) and the remote-free counts, and follows no list.
// The chunk must stay in its heap meanwhile (ThreadHeap::AddStats holds its
// chunk lock).
void AddChunkStats(const ChunkHeader& chunk, HeapStats& stats);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PAGE_H_
