#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_ALLOC_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_ALLOC_H_

// ThreadHeap's slow paths of allocation and free: refilling a size class's
// front page, taking a new page or chunk, and the rarer cases of a free.
// Included by thread_heap.h only.
#include <new>

#include "allocator/common/monotonic_clock.h"
#include "allocator/common/planted_bug.h"
#include "allocator/common/tunables.h"
#include "allocator/per_thread/thread_heap.h"

namespace rusty_malloc {

template <ChunkSource S>
std::uintptr_t ThreadHeap<S>::FirstUse() {
  per_thread_internal::InitLinkKey();
  return per_thread_internal::LinkKey();
}

template <ChunkSource S>
std::uint64_t ThreadHeap<S>::NewTag() {
  static constinit std::atomic<std::uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

template <ChunkSource S>
void ThreadHeap<S>::FreeRemote(PageInfo* page, void* block) noexcept {
  const std::uintptr_t key = per_thread_internal::LinkKey();
  if (ABSL_PREDICT_FALSE(LooksFree(*page, block, key))) ReportDoubleFree(block);
  if (Planted(PlantedBug::kRemoteFreeOnLocalList)) {
    per_thread_internal::SetNext(block, page->free, key);
    page->free = block;
    return;
  }
  per_thread_internal::SetNext(block, nullptr, key);
  PushRemote(page, block, block, 1, key);
}

template <ChunkSource S>
void ThreadHeap<S>::FreeRemoteBatched(PageInfo* page, void* block) noexcept {
  if (ABSL_PREDICT_FALSE(LooksFree(*page, block, key_))) {
    ReportDoubleFree(block);
  }
  if (Planted(PlantedBug::kRemoteFreeOnLocalList)) {
    return FreeRemote(page, block);
  }
  remote_.Add(page, block, key_);
}

template <ChunkSource S>
void* ThreadHeap<S>::AllocateSlow(int cls) {
  PutBackHeld();
  FlushRemote();
  PageQueue& queue = queues_[cls];
  PageInfo* page = queue.head();
  // What TryAllocateFast leaves: the end of a list, a link out of the page.
  // The front page is the owner's alone, so this needs no lock.
  if (page != nullptr && page->free != nullptr) return PopChecked(page);
  SpinLockHolder hold(&pages_lock_);
  ++slow_calls_;
  // Blocks already freed, on the pages scanned, come before untouched
  // memory on any of them: a page linking fresh blocks while blocks freed by
  // other threads wait on the pages behind it grows the heap's resident
  // memory by what those hold (larson at 16 threads: peak RSS 46 MiB to 41
  // in the median of five runs).
  PageInfo* fresh = nullptr;  // The first page scanned with untouched room.
  for (int scanned = 0; page != nullptr && scanned < kScanLimit; ++scanned) {
    PageInfo* next = page->next;
    CollectRemoteFrees(page);
    if (page->free != nullptr) {
      if (page != queue.head()) {
        queue.Unlink(page);
        queue.PushFront(page);
      }
      return PopChecked(page);
    }
    if (fresh == nullptr && HasFreshRoom(*page)) {
      fresh = page;
    } else if (next != nullptr) {
      // Full: to the back, so that later scans reach the pages behind it.
      queue.Unlink(page);
      queue.PushBack(page);
    }
    page = next;
  }
  if (fresh != nullptr) {
    LinkFreshBlocks(fresh);
    if (fresh != queue.head()) {
      queue.Unlink(fresh);
      queue.PushFront(fresh);
    }
    return PopChecked(fresh);
  }
  page = NewPage(cls);
  if (page == nullptr) return nullptr;
  queue.PushFront(page);
  return PopChecked(page);
}

template <ChunkSource S>
void* ThreadHeap<S>::PopChecked(PageInfo* page) {
  void* block = page->free;
  void* next = per_thread_internal::NextOf(block, key_);
  if (next != nullptr && !OnBlockBoundary(*page, next)) {
    ReportCorruptFreeList(block);
  }
  page->free = next;
  OwnerAdd(page->used, 1);
  per_thread_internal::ClearLink(block);
  return block;
}

// FreeLocal's rarer cases. A page that was full (its count not yet lowered
// for the block freed) goes behind its queue's front, for the next slow path
// to find. An emptied page behind the front stays in its queue for reuse (a
// program that frees a batch tends to allocate the same sizes again); the
// next purge, or a NewPage that finds no room, retires the empty pages.
template <ChunkSource S>
void ThreadHeap<S>::PageRefilled(PageInfo* page) noexcept {
  SpinLockHolder hold(&pages_lock_);
  const bool emptied = OwnerAdd(page->used, -1u);
  PageQueue& queue = QueueOf(page);
  if (page == queue.head()) return;
  if (emptied) PageEmptied();
  queue.MoveBehindHead(page);
}

template <ChunkSource S>
void ThreadHeap<S>::PageEmptied() noexcept {
  empty_pages_kept_ = true;
  if (purge_due_ns_ == 0) purge_due_ns_ = CoarseNowNs() + PurgeDelayNs();
}

template <ChunkSource S>
PageInfo* ThreadHeap<S>::NewPage(int cls) {
  const std::int64_t now = CoarseNowNs();
  if (PurgeDue(now)) PurgeLocked();
  if (purge_others_ != nullptr && now >= next_purge_others_ns_) {
    next_purge_others_ns_ = now + HousekeepingIntervalNs();
    CallOthers(purge_others_);
  }
  const int pages = SpanPagesOf(cls);
  int index = 0;
  ChunkHeader* chunk = FirstChunkWithRoom(pages, &index);
  if (chunk == nullptr && chunks_ != nullptr &&
      (empty_pages_kept_ || chunk_count_ >= next_collect_at_)) {
    // Before taking memory from the source, take back what other threads
    // freed: pages they emptied, of classes this thread no longer asks
    // for, would otherwise be held until it did (or exited). A collection
    // walks every page, so it runs at most once per quarter of growth:
    // linear in the heap's size overall, not quadratic.
    CollectAllLocked(Collect::kBehindFronts);
    next_collect_at_ = chunk_count_ + chunk_count_ / 4 + 1;
    chunk = FirstChunkWithRoom(pages, &index);
  }
  if (chunk == nullptr) {
    // The process grows: first, what idle heaps hold goes back.
    if (reclaim_others_ != nullptr) CallOthers(reclaim_others_);
    void* memory = source_->AllocateChunk();
    if (memory == nullptr) return nullptr;
    chunk = new (memory) ChunkHeader();
    chunk->heap = this;
    chunk->owner_tag = tag_;
    chunk->next = chunks_;
    {
      SpinLockHolder hold(&chunks_lock_);
      chunks_ = chunk;
    }
    ++chunk_count_;
    index = 1;  // Page 0 holds the header.
  }
  PageInfo* page = &chunk->pages[index];
  StartPage(page, reinterpret_cast<std::byte*>(chunk) + index * kPageSize, cls);
  chunk->used_pages |= PageRunMask(index, pages);
  Unretain(chunk->dirty_unused & PageRunMask(index, pages));
  chunk->dirty_unused &= ~PageRunMask(index, pages);
  return page;
}

template <ChunkSource S>
void ThreadHeap<S>::CallOthers(void (*others)(void*)) {
  pages_lock_.Unlock();
  others(owner);
  pages_lock_.Lock();
}

template <ChunkSource S>
ChunkHeader* ThreadHeap<S>::FirstChunkWithRoom(int pages, int* index) const {
  ChunkHeader* chunk = chunks_;
  while (chunk != nullptr &&
         (*index = FindUnusedRun(chunk->used_pages, pages)) < 0) {
    chunk = chunk->next;
  }
  return chunk;
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_ALLOC_H_
