#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_SAMPLE_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_SAMPLE_H_

// ThreadHeap's part of the allocation sampler: counting the bytes the slow
// path hands to the fast path, and holding back the rest of a free list at
// the sample point. Included by thread_heap.h only.
#include <cstddef>
#include <cstdint>

#include "allocator/per_thread/thread_heap.h"

namespace rusty_malloc {

template <ChunkSource S>
void* ThreadHeap<S>::AllocateSlowSampling(int cls, std::size_t mean_bytes,
                                          bool* sampled) {
  if (mean_bytes == 0) return AllocateSlow(cls);
  PutBackHeld();
  if (!countdown_.started()) {
    countdown_.set_started();
    countdown_.Restart(mean_bytes);
  }
  const auto size = static_cast<std::int64_t>(ClassSize(cls));
  if (countdown_.Take(size)) {
    countdown_.Restart(mean_bytes);
    *sampled = true;
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
          page->linked_bytes.load(std::memory_order_relaxed) /
          page->block_size) -
      static_cast<std::int64_t>(InUse(page->used));
  if (listed * size < countdown_.left()) {
    countdown_.Take(listed * size);
    return block;
  }
  // The sample point falls in this list: leave the fast path the blocks
  // before it, the last of them ending the list, so that the allocation
  // after them comes here. A walk of at most a page's blocks, once a sample.
  const std::int64_t keep = (countdown_.left() - 1) / size;
  countdown_.Take(keep * size);
  if (keep == 0) {
    held_ = {page, page->free};
    page->free = nullptr;
    return block;
  }
  void* last = page->free;
  for (std::int64_t i = 1; i < keep; ++i) {
    last = per_thread_internal::NextOf(last, key_);
  }
  held_ = {page, per_thread_internal::NextOf(last, key_)};
  per_thread_internal::SetNext(last, nullptr, key_);
  return block;
}

// Blocks freed on this thread since the cut went to the front of the list;
// what was held back goes after them. Owner-only fields of a front page, so
// no lock.
template <ChunkSource S>
void ThreadHeap<S>::PutBackHeld() const {
  if (ABSL_PREDICT_TRUE(held_.page == nullptr)) return;
  PageInfo* const page = held_.page;
  if (page->free == nullptr) {
    page->free = held_.head;
  } else {
    void* tail = page->free;
    while (void* next = per_thread_internal::NextOf(tail, key_)) tail = next;
    per_thread_internal::SetNext(tail, held_.head, key_);
  }
  held_ = {};
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_SAMPLE_H_
