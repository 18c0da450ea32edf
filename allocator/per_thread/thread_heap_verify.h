#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_VERIFY_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_VERIFY_H_

// ThreadHeap's invariant check and statistics.
// Included by thread_heap.h only.
#include "allocator/per_thread/thread_heap.h"

namespace rusty_malloc {

template <ChunkSource S>
HeapReport ThreadHeap<S>::Verify() const {
  PutBackHeld();
  std::size_t pages_seen = 0;
  for (const ChunkHeader* chunk = chunks_; chunk != nullptr;
       chunk = chunk->next) {
    if (chunk->heap != this) return {"chunk names another heap", chunk};
    if (!source_->Contains(chunk)) {
      return {"chunk does not come from the chunk source", chunk};
    }
    std::uint64_t in_use = 1;
    for (int i = 1; i < kPagesPerChunk; ++i) {
      const PageInfo& page = chunk->pages[i];
      if (page.size_class == kPageContinues &&
          (page.span_back == 0 || page.span_back >= i ||
           (&page - page.span_back)->size_class < 0 ||
           page.span_back >= (&page - page.span_back)->span_pages)) {
        return {"page continues no span in use", &page};
      }
      if (page.size_class < 0) continue;
      if (page.span_pages == 0 || i + page.span_pages > kPagesPerChunk) {
        return {"span runs past its chunk", &page};
      }
      in_use |= PageRunMask(i, page.span_pages);
      ++pages_seen;
      const HeapReport report = VerifyPage(
          page, reinterpret_cast<const std::byte*>(chunk) + i * kPageSize);
      if (!report.ok()) return report;
    }
    if (in_use != chunk->used_pages) {
      return {"chunk's map of pages in use is wrong", chunk};
    }
  }
  std::size_t queued = 0;
  for (int cls = 0; cls < kSizeClasses; ++cls) {
    for (const PageInfo* p = queues_[cls].head(); p != nullptr; p = p->next) {
      if (p->size_class != cls || ++queued > pages_seen) {
        return {"page queue holds a page of another class, or loops", p};
      }
      if ((p->used >= kFrontBias) != (p == queues_[cls].head())) {
        return {"page's front bias does not match its place in its queue", p};
      }
    }
  }
  if (queued != pages_seen) {
    return {"a page in use is missing from its heap's queue", this};
  }
  return {};
}

template <ChunkSource S>
void ThreadHeap<S>::AddStats(HeapStats& stats) const {
  SpinLockHolder hold(&chunks_lock_);
  for (const ChunkHeader* c = chunks_; c != nullptr; c = c->next) {
    AddChunkStats(*c, stats);
  }
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_THREAD_HEAP_VERIFY_H_
