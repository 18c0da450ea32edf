#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PER_THREAD_MALLOC_VERIFY_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PER_THREAD_MALLOC_VERIFY_H_

// PerThreadMalloc's invariant check and statistics, over every heap.
// Included by per_thread_malloc.h only.
#include "allocator/per_thread/per_thread_malloc.h"

namespace rusty_malloc {

template <ChunkSource S, MediumHeap M>
HeapReport PerThreadMalloc<S, M>::Verify() {
  FlushRemoteFrees();
  HeapReport report;
  binding_.ForEachHeap([&report](const ThreadHeap<S>& heap) {
    report = heap.Verify();
    return report.ok();
  });
  return report.ok() ? medium_.Verify() : report;
}

template <ChunkSource S, MediumHeap M>
HeapStats PerThreadMalloc<S, M>::Stats() {
  FlushRemoteFrees();
  HeapStats stats;
  binding_.ForEachHeap([&stats](const ThreadHeap<S>& heap) {
    heap.AddStats(stats);
    return true;
  });
  // Chunks are read-write whole from when the source hands them out; the
  // source also holds released chunks and reserved regions.
  stats.reserved_bytes = stats.committed_bytes = stats.heap_bytes;
  if constexpr (requires {
                  source_.ReservedBytes() + source_.CommittedBytes();
                }) {
    stats.reserved_bytes = source_.ReservedBytes();
    stats.committed_bytes = source_.CommittedBytes();
  }
  stats += medium_.Stats();
  stats += sampler_.pool().Stats();
  return stats;
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PER_THREAD_MALLOC_VERIFY_H_
