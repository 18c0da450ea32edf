#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_MEDIUM_HEAP_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_MEDIUM_HEAP_H_

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>

#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "allocator/common/alignment.h"
#include "allocator/common/heap.h"
#include "allocator/common/heap_report.h"
#include "allocator/common/monotonic_clock.h"
#include "allocator/common/realloc_by_moving.h"
#include "allocator/common/tunables.h"
#include "allocator/common/zero_fill.h"
#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/rusty_malloc.h"
#include "allocator/contiguous/segregated_freelist.h"
#include "allocator/large/large_heap.h"
#include "growers/mmap_grower.h"

namespace rusty_malloc {

// The heap PerThreadMalloc sends what no small size class serves (sizes above
// kSmallMax, alignments above the classes'): thread-safe, with the
// allocators' interface, and default-constructible (constexpr, for the
// allocator to be a constinit global). LockForFork, UnlockAfterFork and
// UnlockAfterForkInChild too where PerThreadMalloc's are used.
template <typename M>
concept MediumHeap = std::default_initializable<M> && Heap<M> &&
    requires(M& heap, void* ptr, const void* cptr, std::size_t n) {
  { heap.IsLiveBlock(cptr) } -> std::same_as<bool>;
  { heap.Verify() } -> std::same_as<HeapReport>;
  { heap.Stats() } -> std::same_as<HeapStats>;
};

// The default. Blocks from kLargeMin up (aligned to a page at most) are
// mappings of their own (LargeHeap): freed to the OS or kept a while for
// reuse, resized by the kernel, and zero when fresh. The rest (in a
// PerThreadMalloc, only alignments above what its classes give) live in the
// original design's heap, segregated fit, whose reservation starts at 4 MiB and
// doubles in place as it fills (up to 64 GiB), committed 1 MiB at a time. Each
// takes the other's blocks when it cannot: a large block when the OS refuses a
// mapping, a medium one (of at most page alignment) when the contiguous heap
// cannot grow in place any further.
class DefaultMediumHeap {
 public:
  using Contiguous = RustyMalloc<MmapGrower, SegregatedFreeList>;
  // Where mappings start. Unlike glibc's mmap threshold it does not rise
  // with the sizes freed: a loop of large blocks reuses LargeHeap's kept
  // mappings as they are, and one contiguous heap behind one lock would
  // serialize threads and keep their pages resident.
  static constexpr std::size_t kLargeMin = std::size_t{256} << 10;

  constexpr DefaultMediumHeap()
      : contiguous_(MmapGrower(std::size_t{64} << 30, 1 << 20, 4 << 20),
                    ContiguousOptions()) {}
  DefaultMediumHeap(const DefaultMediumHeap&) = delete;
  DefaultMediumHeap& operator=(const DefaultMediumHeap&) = delete;

  [[nodiscard]] void* Allocate(std::size_t size, std::size_t align) {
    bool zeroed;
    return Allocate(size, align, &zeroed);
  }
  // A block on pages of its own (a mapping; the contiguous heap only when
  // the OS refuses one), for a sampled allocation of any size: freed, its
  // pages are kept a while or go back to the OS like a large block's, rather
  // than stay in the contiguous heap, whose free memory a program of small
  // sizes would never reuse.
  [[nodiscard]] void* AllocateOnOwnPages(std::size_t size, std::size_t align) {
    bool zeroed;
    if (align <= LargeHeap::kOsPage) {
      if (void* block = large_.Allocate(size, &zeroed)) return block;
    }
    return Allocate(size, align, &zeroed);
  }
  // Allocate with every byte zero, writing only memory that may be dirty.
  [[nodiscard]] void* AllocateZeroed(std::size_t size,
                                     std::size_t align = kGranule) {
    bool zeroed;
    void* block = Allocate(size, align, &zeroed);
    if (block != nullptr && !zeroed) ZeroFill(block, size);
    return block;
  }
  void Deallocate(void* ptr) {
    if (MaybeLarge(ptr) && large_.TryDeallocate(ptr) != 0) return;
    contiguous_.Deallocate(ptr);
    if (purge_due_ns_.load(std::memory_order_relaxed) == 0) {
      purge_due_ns_.store(CoarseNowNs() + PurgeDelayNs(),
                          std::memory_order_relaxed);
    }
  }
  [[nodiscard]] void* Reallocate(void* ptr, std::size_t size,
                                 std::size_t align);
  [[nodiscard]] std::size_t UsableSize(void* ptr) {
    const std::size_t large = MaybeLarge(ptr) ? large_.UsableSize(ptr) : 0;
    return large != 0 ? large : contiguous_.UsableSize(ptr);
  }
  [[nodiscard]] bool IsLiveBlock(const void* ptr) {
    return (MaybeLarge(ptr) && large_.UsableSize(ptr) != 0) ||
           contiguous_.IsLiveBlock(ptr);
  }
  [[nodiscard]] HeapReport Verify() {
    const HeapReport report = contiguous_.Verify();
    return report.ok() ? large_.Verify() : report;
  }
  [[nodiscard]] HeapStats Stats();
  // Gives free memory back to the OS now (malloc_trim): the kept mappings,
  // the contiguous heap's free top and the pages inside its free blocks.
  void ReleaseFreeMemory() {
    large_.ReleaseCached();
    contiguous_.ReleaseFreeMemory();
  }
  // The same for memory kept longer than the purge delay: kept mappings that
  // old, and everything free in the contiguous heap once a purge delay has
  // passed since the first free after its last purge. (Its trim threshold
  // and top pad keep up to 40 MiB for reuse while it is busy; a purge delay
  // later they go back.)
  void PurgeIfDue(std::int64_t now) {
    large_.ReleaseExpired();
    std::int64_t due = purge_due_ns_.load(std::memory_order_relaxed);
    if (due != 0 && now >= due &&
        purge_due_ns_.compare_exchange_strong(due, 0,
                                              std::memory_order_relaxed)) {
      contiguous_.ReleaseFreeMemory();
    }
  }

  void LockForFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    contiguous_.LockForFork();
    large_.LockForFork();
  }
  void UnlockAfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    large_.UnlockAfterFork();
    contiguous_.UnlockAfterFork();
  }
  void UnlockAfterForkInChild() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    large_.UnlockAfterForkInChild();
    contiguous_.UnlockAfterForkInChild();
  }

  Contiguous& contiguous() { return contiguous_; }
  LargeHeap& large() { return large_; }

 private:
  static bool GoesLarge(std::size_t size, std::size_t align) {
    return size >= kLargeMin && align <= LargeHeap::kOsPage;
  }
  // Mappings start on a page; a contiguous block rarely does.
  static bool MaybeLarge(const void* ptr) {
    return reinterpret_cast<std::uintptr_t>(ptr) % LargeHeap::kOsPage == 0;
  }
  void* Allocate(std::size_t size, std::size_t align, bool* zeroed) {
    const bool large_first = GoesLarge(size, align);
    if (large_first) {
      void* block = large_.Allocate(size, zeroed);
      if (block != nullptr) return block;
    }
    *zeroed = false;
    void* block = contiguous_.Allocate(size, align);
    if (ABSL_PREDICT_FALSE(block == nullptr) && !large_first &&
        align <= LargeHeap::kOsPage && IsValidAlignment(align)) {
      block = large_.Allocate(size, zeroed);
    }
    return block;
  }
  // Blocks here are over-aligned ones of any size, and large ones when the
  // OS refuses a mapping: trimming at RawMalloc's default 1 MiB would shrink
  // and regrow the heap (two syscalls, under the lock) on every few frees.
  static constexpr RawMallocOptions ContiguousOptions() {
    RawMallocOptions options;
    options.trim_threshold = std::size_t{32} << 20;
    options.top_pad = std::size_t{8} << 20;
    // Likewise for free space inside the heap: only free blocks of 8 MiB and
    // more give pages back, not every free of a few pages.
    options.decommit_threshold = std::size_t{8} << 20;
    return options;
  }

  Contiguous contiguous_;
  LargeHeap large_;
  // When the contiguous heap's free memory goes back; 0 while nothing was
  // freed since the last time.
  std::atomic<std::int64_t> purge_due_ns_{0};
};

inline void* DefaultMediumHeap::Reallocate(void* ptr, std::size_t size,
                                           std::size_t align) {
  if (ptr == nullptr) return Allocate(size, align);
  if (!IsValidAlignment(align)) return nullptr;
  const std::size_t large = MaybeLarge(ptr) ? large_.UsableSize(ptr) : 0;
  if (large != 0) {
    if (GoesLarge(size, align)) {
      // mremap refuses a mapping the program split (mprotect, mlock on part
      // of it): then allocate, copy and free.
      void* remapped = large_.Reallocate(ptr, size);
      if (remapped != nullptr) return remapped;
    }
    return ReallocByMoving(*this, ptr, large, size, align);
  }
  if (GoesLarge(size, align)) {
    return ReallocByMoving(*this, ptr, contiguous_.UsableSize(ptr), size,
                           align);
  }
  void* resized = contiguous_.Reallocate(ptr, size, align);
  if (ABSL_PREDICT_FALSE(resized == nullptr) && align <= LargeHeap::kOsPage) {
    // The contiguous heap cannot grow: a mapping of its own, as Allocate.
    return ReallocByMoving(*this, ptr, contiguous_.UsableSize(ptr), size,
                           align);
  }
  return resized;
}

inline HeapStats DefaultMediumHeap::Stats() {
  HeapStats stats = contiguous_.Stats();
  stats += large_.Stats();
  return stats;
}

static_assert(MediumHeap<DefaultMediumHeap>);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_MEDIUM_HEAP_H_
