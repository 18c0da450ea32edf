#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PER_THREAD_MALLOC_ALLOC_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PER_THREAD_MALLOC_ALLOC_H_

// PerThreadMalloc's paths beyond the small sizes' fast paths: allocation
// without a bound heap, other sizes and alignments, zeroed allocation,
// reallocation and the shared housekeeping they run.
// Included by per_thread_malloc.h only.
#include "allocator/per_thread/per_thread_malloc.h"

namespace rusty_malloc {

template <ChunkSource S, MediumHeap M>
void* PerThreadMalloc<S, M>::AllocateUnbound(int cls) {
  return binding_.AllocateUnbound(
      &source_, [cls](ThreadHeap<S>* heap) { return heap->Allocate(cls); });
}

template <ChunkSource S, MediumHeap M>
std::size_t PerThreadMalloc<S, M>::UsableSize(void* ptr) {
  if (!source_.Contains(ptr)) {
    if (sampler_.IsGuarded(ptr)) return sampler_.pool().UsableSize(ptr);
    return medium_.UsableSize(ptr);
  }
  return CheckedSmallBlock(ptr)->block_size;
}

template <ChunkSource S, MediumHeap M>
bool PerThreadMalloc<S, M>::IsLiveBlock(const void* ptr) {
  if (!source_.Contains(ptr)) {
    if (sampler_.IsGuarded(ptr)) return sampler_.pool().UsableSize(ptr) != 0;
    return medium_.IsLiveBlock(ptr);
  }
  const PageInfo* page = SpanOf(ptr);
  return OnBlockBoundary(*page, ptr) && !LooksFree(*page, ptr);
}

template <ChunkSource S, MediumHeap M>
void* PerThreadMalloc<S, M>::AllocateSample(ThreadHeap<S>* heap, int cls,
                                            std::size_t size, std::size_t align,
                                            std::size_t interval) {
  const std::int64_t start = ThreadCpuNs();
  // A sampled allocation: guarded when its turn comes; else, when it is to
  // be profiled, from the medium heap, whose free path can forget it (a
  // chunk's cannot: free's fast path must stay as it is); else as usual.
  // At malloc's alignment at least: a block against the guard page after
  // it then ends up to 15 bytes short of it, where an overflow goes unseen.
  void* sample = sampler_.AllocateGuarded(size, std::max(align, kGranule));
  const bool guarded = sample != nullptr;
  if (sample == nullptr && sampler_.profiling()) {
    if constexpr (requires { medium_.AllocateOnOwnPages(size, align); }) {
      sample = medium_.AllocateOnOwnPages(size, align);
    } else {
      sample = medium_.Allocate(size, align);
    }
  }
  if (sample != nullptr && sampler_.profiling()) {
    sampler_.Record(sample, ClassSize(cls), interval);
  }
  // A guarded block's free is charged by the thread that frees it.
  const std::int64_t end = ThreadCpuNs();
  sampler_.Charge(end - start, guarded);
  heap->PaceSampling(end, end - start, sampler_.pacing_share(),
                     sampler_.mean_bytes());
  return sample != nullptr ? sample : heap->Allocate(cls);
}

template <ChunkSource S, MediumHeap M>
void* PerThreadMalloc<S, M>::AllocateOther(std::size_t size,
                                           std::size_t align) {
  if (!IsValidAlignment(align)) return nullptr;
  if (align <= kGranule) {
    if (size <= kSmallMax) return AllocateSmall(SizeClassOf(size), size, align);
  } else if (size <= kSmallMax && align <= kPageSize) {
    // A power-of-two class at least `align` is aligned to it, up to a page:
    // pages and spans start on a page and blocks sit at multiples of their
    // size from there.
    const std::size_t block = std::bit_ceil(std::max(size, align));
    if (block <= kSmallMax) {
      return AllocateSmall(SizeClassOf(block), size, align);
    }
  }
  PurgeDue();
  return medium_.Allocate(size, align);
}

template <ChunkSource S, MediumHeap M>
void PerThreadMalloc<S, M>::PurgeDue() {
  const std::int64_t now = CoarseNowNs();
  if (ThreadHeap<S>* mine = binding_.CachedHeap(); mine != nullptr) {
    mine->FlushRemote();
    mine->PurgeIfDue(now);
  }
  // The rest takes locks: four times per housekeeping interval at most.
  if (now < next_purge_ns_.load(std::memory_order_relaxed)) return;
  next_purge_ns_.store(now + HousekeepingIntervalNs() / 4,
                       std::memory_order_relaxed);
  binding_.ReleaseAbandoned(Due::kWhenDue);
  if constexpr (PurgesReleasedChunks<S>) {
    source_.PurgeReleased(Due::kWhenDue);
  }
  if constexpr (CanPurgeWhenDue<M>) medium_.PurgeIfDue(now);
}

template <ChunkSource S, MediumHeap M>
void* PerThreadMalloc<S, M>::AllocateZeroed(std::size_t size) {
  if constexpr (HasZeroedAllocation<M>) {
    if (size > kSmallMax) {
      PurgeDue();
      return medium_.AllocateZeroed(size);
    }
  }
  void* block = Allocate(size);
  if (block != nullptr) ZeroFill(block, size);
  return block;
}

template <ChunkSource S, MediumHeap M>
void* PerThreadMalloc<S, M>::Reallocate(void* ptr, std::size_t size,
                                        std::size_t align) {
  if (ptr == nullptr) return Allocate(size, align);
  if (!IsValidAlignment(align)) return nullptr;
  const bool aligned = reinterpret_cast<std::uintptr_t>(ptr) % align == 0;
  std::size_t old_usable;
  if (source_.Contains(ptr)) {
    const PageInfo* page = CheckedSmallBlock(ptr);
    old_usable = page->block_size;
    // Stay while the block fits and is not more than half empty.
    if (aligned && size <= old_usable &&
        (size > old_usable / 2 || page->size_class == 0)) {
      return ptr;
    }
  } else if (sampler_.IsGuarded(ptr)) {
    old_usable = sampler_.pool().UsableSize(ptr);
  } else {
    // A sample resized in place would keep its old size in the profile.
    sampler_.Forget(ptr);
    const bool stays_medium = size > kSmallMax || align > kPageSize;
    if (stays_medium) return medium_.Reallocate(ptr, size, align);
    old_usable = medium_.UsableSize(ptr);
  }
  return ReallocByMoving(*this, ptr, old_usable, size, align);
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PER_THREAD_MALLOC_ALLOC_H_
