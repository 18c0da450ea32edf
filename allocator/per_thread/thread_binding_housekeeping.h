#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_BINDING_HOUSEKEEPING_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_BINDING_HOUSEKEEPING_H_

// What a ThreadBinding does to the heaps as a whole rather than to one
// thread's: releasing abandoned heaps' memory, reclaiming idle heaps'
// pages, and orphaning the heaps of threads a fork left behind.
// Included by thread_binding.h only.
#include "allocator/per_thread/thread_binding.h"

namespace rusty_malloc {

template <ChunkSource S>
void ThreadBinding<S>::ReleaseAbandoned(Due when) {
  const std::int64_t now = CoarseNowNs();
  SpinLockHolder hold(&lock_);
  // No thread adopts a heap while the lock is held: this one is their only
  // user until it lets go.
  Heap* prev = nullptr;
  for (Heap** link = &abandoned_; *link != nullptr;) {
    Heap* heap = *link;
    // Its pages have been unused since its thread exited, at the latest.
    if (when == Due::kNow || now - heap->abandoned_ns >= PurgeDelayNs()) {
      heap->Purge();
    } else {
      heap->CollectAll(Collect::kEverything);
      heap->PurgeIfDue(now);
    }
    if (heap->chunks() != nullptr) {
      link = &heap->abandoned_next;
      prev = heap;
      continue;
    }
    if (heap == abandoned_last_) abandoned_last_ = prev;
    // No chunk names it, so no block can be freed into it any more.
    *link = heap->abandoned_next;
    Heap** registry = &heaps_;
    while (*registry != heap) registry = &(*registry)->registry_next;
    *registry = heap->registry_next;
    budget_.set_heaps(--heap_count_);
    heap->~Heap();
    UnmapHeapMemory(heap, sizeof(Heap));
  }
}

template <ChunkSource S>
std::size_t ThreadBinding<S>::ReclaimIdle(Due when) {
  if (when == Due::kWhenDue) {
    const std::int64_t now = CoarseNowNs();
    std::int64_t due = next_reclaim_ns_.load(std::memory_order_relaxed);
    if (now < due ||
        !next_reclaim_ns_.compare_exchange_strong(
            due, now + kMinHousekeepingIntervalNs, std::memory_order_relaxed)) {
      return 0;
    }
  }
  std::size_t reclaimed = 0;
  SpinLockHolder hold(&lock_);
  for (Heap* heap = heaps_; heap != nullptr; heap = heap->registry_next) {
    reclaimed += heap->ReclaimIfIdle();
  }
  return reclaimed;
}

template <ChunkSource S>
void ThreadBinding<S>::UnlockAfterForkInChild() {
  Heap* const mine = CachedHeap();
  Heap* kept = nullptr;
  for (Heap* heap = heaps_; heap != nullptr;) {
    Heap* next = heap->registry_next;
    const bool keep = heap == mine || heap->abandoned;
    Heap** list = keep ? &kept : &orphans_;
    heap->registry_next = *list;
    *list = heap;
    if (!keep) budget_.set_heaps(--heap_count_);
    heap = next;
  }
  heaps_ = kept;
  UnlockAfterFork();
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_BINDING_HOUSEKEEPING_H_
