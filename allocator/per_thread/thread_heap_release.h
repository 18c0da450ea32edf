#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_RELEASE_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_RELEASE_H_

// How a ThreadHeap gives memory back: retiring empty pages, releasing
// chunks, purging after the delay, and reclaim of an idle heap's pages by
// another thread.
// Included by thread_heap.h only.
#include <bit>

#include "allocator/common/check.h"
#include "allocator/common/heap.h"
#include "allocator/common/monotonic_clock.h"
#include "allocator/common/planted_bug.h"
#include "allocator/common/tunables.h"
#include "allocator/per_thread/thread_heap.h"

namespace rusty_malloc {

template <ChunkSource S>
void ThreadHeap<S>::ReportDoubleFree(void* block) {
  ReportMisuse("double free, or use of a freed block", block);
}

// At most once per kMinHousekeepingIntervalNs: a purge walks every page, and
// with a delay of 0 every new page after an emptied one would otherwise walk
// the whole heap (a 512 MiB heap took 2.5 times as long).
template <ChunkSource S>
bool ThreadHeap<S>::PurgeDue(std::int64_t now) {
  if (purge_due_ns_ != 0 && now >= purge_due_ns_ &&
      now - last_purge_ns_ >= kMinHousekeepingIntervalNs) {
    last_purge_ns_ = now;
    return true;
  }
  return false;
}

template <ChunkSource S>
bool ThreadHeap<S>::RetirePage(PageInfo* page, Collect scope) {
  if (!Planted(PlantedBug::kRetiredPageLeftQueued)) QueueOf(page).Unlink(page);
  ChunkHeader* chunk = ChunkOf(page->start);
  const std::uint64_t run =
      PageRunMask(static_cast<int>(page - chunk->pages), page->span_pages);
  chunk->used_pages &= ~run;
  StopPage(page);
  constexpr int kLeft = Planted(PlantedBug::kChunkReleasedInUse) ? 1 : 0;
  // An empty chunk goes back to the source (and its memory to the OS),
  // unless it is the heap's only one: keep that for the next allocation.
  if (std::popcount(chunk->used_pages) - 1 > kLeft ||
      (chunks_ == chunk && chunk->next == nullptr &&
       scope != Collect::kEverything)) {
    // The page's memory stays for reuse until the purge delay is over, if
    // the budget allows.
    if (Retain(run)) {
      chunk->dirty_unused |= run;
      if (purge_due_ns_ == 0) purge_due_ns_ = CoarseNowNs() + PurgeDelayNs();
    } else {
      Decommit(chunk, run);
    }
    return false;
  }
  ReleaseChunk(chunk);
  return true;
}

template <ChunkSource S>
void ThreadHeap<S>::ReleaseChunk(ChunkHeader* chunk) {
  RUSTY_MALLOC_DCHECK(chunk->used_pages == 1 && chunk->heap == this, chunk);
  {
    SpinLockHolder hold(&chunks_lock_);
    ChunkHeader** link = &chunks_;
    while (*link != chunk) link = &(*link)->next;
    *link = chunk->next;
  }
  --chunk_count_;
  Unretain(chunk->dirty_unused);
  per_thread_internal::ForgetLocalChunk(chunk);
  chunk->~ChunkHeader();
  source_->ReleaseChunk(chunk);
}

template <ChunkSource S>
bool ThreadHeap<S>::Retain(std::uint64_t run) {
  if constexpr (CanDecommit<S>) {
    return budget_ == nullptr ||
           budget_->TryRetain(std::popcount(run) * kPageSize);
  }
  return true;  // A source that cannot decommit keeps them anyway.
}

template <ChunkSource S>
void ThreadHeap<S>::Unretain(std::uint64_t dirty) {
  if (budget_ != nullptr && dirty != 0) {
    if constexpr (CanDecommit<S>) {
      budget_->Release(std::popcount(dirty) * kPageSize);
    }
  }
}

template <ChunkSource S>
void ThreadHeap<S>::Decommit(ChunkHeader* chunk, std::uint64_t run) {
  if constexpr (CanDecommit<S>) {
    while (run != 0) {
      const int first = std::countr_zero(run);
      const int pages = std::countr_one(run >> first);
      source_->Decommit(reinterpret_cast<std::byte*>(chunk) + first * kPageSize,
                        pages * kPageSize);
      run &= ~PageRunMask(first, pages);
    }
  }
}

template <ChunkSource S>
void ThreadHeap<S>::CollectAllLocked(Collect scope) {
  PutBackHeld();
  empty_pages_kept_ = false;
  for (ChunkHeader* chunk = chunks_; chunk != nullptr;) {
    ChunkHeader* next = chunk->next;
    // A chunk with no page to retire (an idle heap's pages reclaimed, or an
    // empty last chunk) goes here, unless it is the heap's only one.
    if (chunk->used_pages == 1 &&
        (scope == Collect::kEverything || chunks_ != chunk ||
         chunk->next != nullptr)) {
      ReleaseChunk(chunk);
      chunk = next;
      continue;
    }
    for (int i = 1; i < kPagesPerChunk; ++i) {
      PageInfo* page = &chunk->pages[i];
      if (page->size_class < 0) continue;
      CollectRemoteFrees(page);
      // Retiring the chunk's last page in use releases the chunk, and with
      // it the page array this loop walks: stop there.
      if (InUse(page->used) == 0 &&
          (scope == Collect::kEverything || page != QueueOf(page).head()) &&
          RetirePage(page, scope) &&
          !Planted(PlantedBug::kCollectAllWalksReleasedChunk)) {
        break;
      }
    }
    chunk = next;
  }
}

template <ChunkSource S>
void ThreadHeap<S>::PurgeLocked() {
  // Pages kept empty this long, at their queue's front or not, are not
  // coming back into use soon.
  ++purges_;
  FlushRemote();
  CollectAllLocked(Collect::kEverything);
  purge_due_ns_ = 0;
  for (ChunkHeader* chunk = chunks_; chunk != nullptr; chunk = chunk->next) {
    const std::uint64_t dirty = chunk->dirty_unused;
    chunk->dirty_unused = 0;
    Unretain(dirty);
    Decommit(chunk, dirty);
  }
  // Chunks released just now waited as long as their pages did.
  if constexpr (PurgesReleasedChunks<S>) {
    source_->PurgeReleased(Due::kNow);
  }
}

template <ChunkSource S>
std::size_t ThreadHeap<S>::ReclaimIfIdle() {
  if (!pages_lock_.TryLock()) return 0;
  std::size_t reclaimed = 0;
  const bool idle = slow_calls_ == slow_calls_seen_;
  slow_calls_seen_ = slow_calls_;
  for (ChunkHeader* chunk = idle ? chunks_ : nullptr; chunk != nullptr;
       chunk = chunk->next) {
    std::uint64_t taken = 0;
    for (int i = 1; i < kPagesPerChunk; ++i) {
      if (SharedLoad(chunk->pages[i].size_class) >= 0) {
        taken |= TakeIfFree(chunk, i);
      }
    }
    reclaimed += std::popcount(taken) * kPageSize;
    Decommit(chunk, taken);
  }
  pages_lock_.Unlock();
  return reclaimed;
}

// ReclaimIfIdle's test of one page in use, `index` of `chunk`: takes the page
// out of use and returns its run of pages when every block in use is on its
// remote list, else 0. Only such a page is safe to take while the owner runs
// its fast path: the owner holds none of its blocks and does not allocate
// from it, and its fields that the fast path writes (free, used) it does not
// touch.
template <ChunkSource S>
std::uint64_t ThreadHeap<S>::TakeIfFree(ChunkHeader* chunk, int index) {
  PageInfo* page = &chunk->pages[index];
  // A front page carries kFrontBias, so it never matches the count.
  const std::uint32_t used = Planted(PlantedBug::kReclaimTakesFrontPage)
                                 ? InUse(SharedLoad(page->used))
                                 : SharedLoad(page->used);
  if (page->remote_count.load(std::memory_order_relaxed) != used) return 0;
  // A remote free counts its blocks before it pushes them: the list may
  // still lack some, and then goes back as it was.
  void* const list =
      page->thread_free.exchange(nullptr, std::memory_order_acquire);
  const std::uintptr_t key = per_thread_internal::LinkKey();
  void* last = nullptr;
  const std::uint32_t count = WalkRemoteList(*page, list, used, key, &last);
  if (count != used) {
    if (list != nullptr) LinkRemote(page, list, last, key);
    return 0;
  }
  // As CollectRemoteFrees: `used` first, for statistics read beside.
  OwnerStore(page->used, std::uint32_t{0});
  page->remote_count.fetch_sub(count, std::memory_order_release);
  QueueOf(page).Unlink(page);
  const std::uint64_t run = PageRunMask(index, page->span_pages);
  chunk->used_pages &= ~run;
  StopPage(page);
  return run;
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_RELEASE_H_
