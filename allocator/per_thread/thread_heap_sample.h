#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_SAMPLE_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_SAMPLE_H_

// ThreadHeap's part of the allocation sampler: counting the bytes the slow
// path hands to the fast path, and holding back the rest of a free list at
// the sample point. Included by thread_heap.h only.
#include <cstddef>
#include <cstdint>

#include "allocator/per_thread/size_classes.h"
#include "allocator/per_thread/thread_heap.h"

namespace rusty_malloc {

template <ChunkSource S>
void* ThreadHeap<S>::AllocateSlowSampling(int cls, std::size_t mean_bytes,
                                          std::size_t* sample_interval) {
  if (mean_bytes == 0) return AllocateSlow(cls);
  // Blocks held back stay held until AllocateSlow takes this class's next
  // block: put back before a sample here, they would go to the fast path
  // uncounted (the profile of a small mean came out a third short).
  // At first, and after a sample that PaceSampling did not restart.
  if (ABSL_PREDICT_FALSE(countdown_.left() <= 0)) RestartCountdown(mean_bytes);
  const auto size = static_cast<std::int64_t>(ClassSize(cls));
  if (countdown_.Take(size)) {
    *sample_interval = countdown_.drawn_from();
    return nullptr;
  }
  void* const block = AllocateSlow(cls);
  if (block == nullptr) return nullptr;
  // AllocateSlow leaves the block's page at the front. Its free list holds
  // every block linked and not in use, remote frees counting as in use.
  PageInfo* const page = queues_[cls].head();
  if (page == nullptr) return block;  // Never, but GCC cannot tell.
  const std::int64_t listed =
      static_cast<std::int64_t>(
          DivideBy(page->linked_bytes.load(std::memory_order_relaxed),
                   page->block_magic)) -
      static_cast<std::int64_t>(InUse(page->used));
  // The fast path serves all but the list's last block, whose link ends the
  // list: that one comes back here and is counted then.
  const std::int64_t fast = listed - 1;
  if (fast <= 0) return block;
  if (fast * size < countdown_.left()) {
    countdown_.Take(fast * size);
    return block;
  }
  CutAtSamplePoint(page, size);
  return block;
}

// The sample point falls in `page`'s list: leave the fast path the blocks
// before it and end the list after the next one, so that the allocation at
// the point comes to the slow path. A walk of at most a page's blocks, once
// a sample.
template <ChunkSource S>
void ThreadHeap<S>::CutAtSamplePoint(PageInfo* page, std::int64_t size) {
  const std::int64_t before = (countdown_.left() - 1) / size;
  countdown_.Take(before * size);
  void* last = page->free;
  for (std::int64_t i = 0; i < before; ++i) {
    last = per_thread_internal::NextOf(last, key_);
  }
  if (void* rest = per_thread_internal::NextOf(last, key_)) {
    held_page_ = page;
    held_head_ = rest;
    per_thread_internal::SetNext(last, nullptr, key_);
  }
}

template <ChunkSource S>
void ThreadHeap<S>::RestartCountdown(std::size_t mean_bytes) {
  countdown_.Restart(mean_bytes);
}

template <ChunkSource S>
void ThreadHeap<S>::PaceSampling(std::int64_t now_ns, std::int64_t cost_ns,
                                 std::uint32_t share, std::size_t mean_bytes) {
  countdown_.Pace(now_ns, cost_ns, share);
  countdown_.Restart(mean_bytes);
}

// Blocks freed on this thread since the cut went to the front of the list;
// what was held back goes after them. Owner-only fields of a front page, so
// no lock.
template <ChunkSource S>
void ThreadHeap<S>::PutBackHeld() const {
  if (ABSL_PREDICT_TRUE(held_page_ == nullptr)) return;
  PageInfo* const page = held_page_;
  if (page->free == nullptr) {
    page->free = held_head_;
  } else {
    void* tail = page->free;
    while (void* next = per_thread_internal::NextOf(tail, key_)) tail = next;
    per_thread_internal::SetNext(tail, held_head_, key_);
  }
  held_page_ = nullptr;
  held_head_ = nullptr;
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_SAMPLE_H_
