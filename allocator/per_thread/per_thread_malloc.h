#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PER_THREAD_MALLOC_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PER_THREAD_MALLOC_H_

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "allocator/common/alignment.h"
#include "allocator/common/heap.h"
#include "allocator/common/heap_report.h"
#include "allocator/common/misuse.h"
#include "allocator/common/monotonic_clock.h"
#include "allocator/common/realloc_by_moving.h"
#include "allocator/common/tunables.h"
#include "allocator/common/zero_fill.h"
#include "allocator/per_thread/chunk.h"
#include "allocator/per_thread/chunk_source.h"
#include "allocator/per_thread/free_block.h"
#include "allocator/per_thread/medium_heap.h"
#include "allocator/per_thread/page.h"
#include "allocator/per_thread/size_classes.h"
#include "allocator/per_thread/thread_binding.h"
#include "allocator/per_thread/thread_heap.h"
#include "allocator/sampling/sampler.h"

namespace rusty_malloc {

// The allocator the original crate's author wished for: every thread owns
// its heap, built from chunks of source S scattered over the address space
// instead of one contiguous buffer. Small sizes (up to kSmallMax, 256 KiB)
// come from the calling thread's pages: allocation and same-thread free take no
// lock and no atomic read-modify-write; a free from another thread joins a
// chain of that thread's per page, pushed onto the page's remote list with
// one atomic operation, which the owner takes over later. A
// thread's heap outlives the thread: the next thread to start adopts it
// (ThreadBinding). Larger sizes, and alignments no small class provides, go
// to the medium heap M, by default the original design's heap.
//
// Same interface as RawMalloc and RustyMalloc. Allocation fails (nullptr)
// when S has no chunk left, M has no memory, or a thread heap's own memory
// cannot be mapped.
template <ChunkSource S = MmapChunkSource, MediumHeap M = DefaultMediumHeap>
class PerThreadMalloc {
 public:
  using Medium = M;

  // `args` construct the chunk source. Touches nothing until first use, so
  // the allocator can be a constinit global.
  template <typename... Args>
  constexpr explicit PerThreadMalloc(Args&&... args)
      : source_(std::forward<Args>(args)...), medium_() {}
  PerThreadMalloc(const PerThreadMalloc&) = delete;
  PerThreadMalloc& operator=(const PerThreadMalloc&) = delete;

  // The fast paths are forced inline: into malloc, free, new and delete.
  [[nodiscard]] ABSL_ATTRIBUTE_ALWAYS_INLINE void* Allocate(
      std::size_t size, std::size_t align = kGranule) {
    if (ABSL_PREDICT_TRUE(size <= kLookupMax && align <= kGranule &&
                          IsValidAlignment(align))) {
      return AllocateSmall(LookupSizeClass(size), size, align);
    }
    return AllocateOther(size, align);
  }
  // Allocate's fast path alone: a block when the calling thread's heap has
  // one ready, else nullptr with nothing done. Lets a caller keep its own
  // failure handling (errno, the new-handler) off the fast path.
  [[nodiscard]] ABSL_ATTRIBUTE_ALWAYS_INLINE void* TryAllocateFast(
      std::size_t size, std::size_t align = kGranule) {
    if (ABSL_PREDICT_TRUE(size <= kLookupMax && align <= kGranule &&
                          IsValidAlignment(align))) {
      ThreadHeap<S>* heap = binding_.SlotHeap();
      if (ABSL_PREDICT_TRUE(heap != nullptr)) {
        return heap->TryAllocateFast(LookupSizeClass(size));
      }
    }
    return nullptr;
  }

  // Every slow case leaves by a tail call, so the fast path saves no
  // registers; they are all noexcept, so that operator delete (noexcept)
  // needs no frame around them either. A pointer into the chunk the thread last
  // freed into locally (ThreadBinding::InLocalChunk) is known to be in a chunk
  // of this allocator and of the thread's own heap: only the block boundary and
  // a double free are left to check.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Deallocate(void* ptr) noexcept {
    DeallocateLocalOr(ptr, [this](void* p) { DeallocateElsewhere(p); });
  }
  // Deallocate's fast path, with `elsewhere(ptr)` called instead of
  // DeallocateElsewhere for a pointer outside the cached chunk: a drop-in
  // that wraps every slow free (trace recording) passes its own.
  template <typename Elsewhere>
  ABSL_ATTRIBUTE_ALWAYS_INLINE void DeallocateLocalOr(
      void* ptr, Elsewhere elsewhere) noexcept {
    if (ABSL_PREDICT_FALSE(!binding_.InLocalChunk(ptr))) {
      return elsewhere(ptr);
    }
    // The page's start and linked_bytes are loaded once, for both checks.
    PageInfo* page = PageOf(ptr);
    // One register for the page: GCC otherwise keeps its chunk and offset
    // apart and needs one more for the atomic store of `used`, which costs
    // free's fast path two register saves.
    asm("" : "+r"(page));
    const auto start = reinterpret_cast<std::uintptr_t>(page->start);
    const std::uint32_t linked =
        page->linked_bytes.load(std::memory_order_relaxed);
    if (ABSL_PREDICT_FALSE(!OnBlockBoundary(*page, ptr, start, linked))) {
      return DeallocateInSpan(ptr);
    }
    // The slot is this allocator's and holds the key.
    ThreadHeap<S>::FreeLocal(page, ptr, start, linked,
                             per_thread_internal::tls_slot.key);
  }
  // Deallocate(ptr) for a block allocated with `size` (sized delete,
  // free_sized): a size above kSmallMax names a medium or large block, which
  // skips the chunk lookup. A wrong size is misuse, caught as a foreign
  // pointer by the heap it leads to.
  void DeallocateSized(void* ptr, std::size_t size) noexcept {
    if (size > kSmallMax) return DeallocateOther(ptr);
    Deallocate(ptr);
  }
  // Deallocate for a pointer outside the thread's cached chunk: a chunk
  // lookup, then the same checks.
  ABSL_ATTRIBUTE_NOINLINE void DeallocateElsewhere(void* ptr) noexcept {
    if (ABSL_PREDICT_FALSE(!source_.Contains(ptr))) {
      return DeallocateOther(ptr);
    }
    FreeBlock(CheckedSmallBlock(ptr), ptr);
  }
  // Every later call takes the out-of-line paths (ThreadBinding::
  // BypassFastPaths); before other threads use the allocator.
  void BypassFastPaths() { binding_.BypassFastPaths(); }
  // Allocate(size) with every byte zero. Memory the medium heap knows is
  // fresh from the OS is not written again, so a huge calloc costs no pages.
  [[nodiscard]] void* AllocateZeroed(std::size_t size);
  [[nodiscard]] void* Reallocate(void* ptr, std::size_t size,
                                 std::size_t align = kGranule);
  // Gives the free memory kept for reuse back to the OS now (malloc_trim):
  // the calling thread's heap's, that of heaps no thread uses, released
  // chunks', and the medium heap's where it can. Other threads' heaps purge
  // their own after the purge delay.
  void ReleaseFreeMemory() {
    if (ThreadHeap<S>* mine = binding_.CachedHeap(); mine != nullptr) {
      mine->Purge();
    }
    binding_.ReleaseAbandoned(Due::kNow);
    if constexpr (PurgesReleasedChunks<S>) {
      source_.PurgeReleased(Due::kNow);
    }
    if constexpr (CanReleaseFreeMemory<M>) {
      medium_.ReleaseFreeMemory();
    }
  }
  [[nodiscard]] std::size_t UsableSize(void* ptr);
  [[nodiscard]] bool IsLiveBlock(const void* ptr);

  // Walks every heap's chunks and pages, and the medium heap, and names the
  // first broken invariant. Only meaningful while no other thread allocates
  // or frees (e.g. after joining them).
  [[nodiscard]] HeapReport Verify();
  // Safe beside threads that allocate and free (a monitoring thread may
  // poll it): each heap is read under its own chunk lock, so the figures
  // are per heap, not one instant's; once threads are quiescent they are
  // exact, except that blocks a live thread freed into other heaps and
  // still holds in its batches (ThreadHeap::FreeRemoteBatched) count as
  // allocated until it hands them over. The caller's own go over first.
  // heap_bytes counts whole chunks.
  [[nodiscard]] HeapStats Stats();
  // How many thread heaps exist (live and abandoned): a measure of adoption.
  std::size_t HeapCount() { return binding_.HeapCount(); }
  // Reclaims, now, the free pages of the heaps whose threads ran no
  // allocation slow path since the last call (ThreadBinding::ReclaimIdle,
  // which a heap taking a new chunk runs at most every 4 ms); the bytes
  // reclaimed.
  std::size_t ReclaimIdleHeaps() { return binding_.ReclaimIdle(Due::kNow); }
  // Hands the blocks the calling thread freed into other heaps and still
  // holds in its batches (ThreadHeap::FreeRemoteBatched) over now: for a
  // thread about to go idle, so that Stats() is exact without waiting for
  // it to allocate again or exit. Stats() and Verify() do it for their
  // caller.
  void FlushRemoteFrees() {
    if (ThreadHeap<S>* mine = binding_.CachedHeap()) mine->FlushRemote();
  }

  // pthread_atfork's three handlers: no lock is held halfway through a
  // change when the child starts, and the child orphans the heaps of the
  // threads it does not have (ThreadBinding::UnlockAfterForkInChild).
  void LockForFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    binding_.LockForFork();
    source_.LockForFork();
    medium_.LockForFork();
    sampler_.pool().LockForFork();
  }
  void UnlockAfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    sampler_.pool().UnlockAfterFork();
    medium_.UnlockAfterFork();
    source_.UnlockAfterFork();
    binding_.UnlockAfterFork();
  }
  void UnlockAfterForkInChild() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    sampler_.pool().UnlockAfterFork();
    medium_.UnlockAfterForkInChild();
    source_.UnlockAfterFork();
    binding_.UnlockAfterForkInChild();
  }

  S& source() { return source_; }
  M& medium() { return medium_; }
  Sampler& sampler() { return sampler_; }
  // Thread heaps made from now on take their memory from `mapper`.
  void set_heap_mapper_for_testing(HeapMapper mapper) {
    binding_.set_mapper_for_testing(mapper);
  }

 private:
  // A block of class `cls` for a request of `size` bytes aligned to `align`.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* AllocateSmall(int cls, std::size_t size,
                                                   std::size_t align) {
    ThreadHeap<S>* heap = binding_.SlotHeap();
    if (ABSL_PREDICT_TRUE(heap != nullptr)) {
      if (void* block = heap->TryAllocateFast(cls)) return block;
      if (ABSL_PREDICT_FALSE(sampler_.mean_bytes() != 0)) {
        return AllocateSampling(heap, cls, size, align);
      }
      return heap->AllocateSlow(cls);
    }
    return AllocateUnbound(cls);
  }
  // The heap's slow path with the sampler on: the byte count, lean, since
  // workloads whose free lists are short come here every few allocations.
  ABSL_ATTRIBUTE_NOINLINE void* AllocateSampling(ThreadHeap<S>* heap, int cls,
                                                 std::size_t size,
                                                 std::size_t align) {
    std::size_t interval = 0;
    void* block =
        heap->AllocateSlowSampling(cls, sampler_.mean_bytes(), &interval);
    if (ABSL_PREDICT_TRUE(interval == 0)) return block;
    return AllocateSample(heap, cls, size, align, interval);
  }
  // The sampled allocation itself, drawn from a mean of `interval` bytes.
  ABSL_ATTRIBUTE_NOINLINE ABSL_ATTRIBUTE_COLD void* AllocateSample(
      ThreadHeap<S>* heap, int cls, std::size_t size, std::size_t align,
      std::size_t interval);
  // For a thread whose TLS slot does not hold its heap.
  ABSL_ATTRIBUTE_NOINLINE void* AllocateUnbound(int cls);
  ABSL_ATTRIBUTE_NOINLINE void* AllocateOther(std::size_t size,
                                              std::size_t align);
  // Out of line so that the medium and large heaps' code does not crowd
  // free's fast path.
  ABSL_ATTRIBUTE_NOINLINE void DeallocateOther(void* ptr) noexcept {
    if (ptr == nullptr) return;
    sampler_.Forget(ptr);
    if (ABSL_PREDICT_FALSE(sampler_.IsGuarded(ptr))) {
      return FreeGuarded(ptr);
    }
    medium_.Deallocate(ptr);
    PurgeDue();
  }
  // A guarded block's free costs about what its allocation did (a stack and
  // a protection change, and on a VM the TLB shootdown, tens of
  // microseconds): charged to the pacing of the thread that frees it.
  void FreeGuarded(void* ptr) noexcept {
    const std::int64_t spent = sampler_.DeallocateGuarded(ptr);
    if (ThreadHeap<S>* mine = binding_.CachedHeap())
      mine->ChargeSampling(spent);
  }
  // The blocks of a span's later pages, and misuse.
  ABSL_ATTRIBUTE_NOINLINE void DeallocateInSpan(void* ptr) noexcept {
    FreeBlock(CheckedSpanBlock(ptr), ptr);
  }
  // Frees `ptr`, a checked block of `page` in one of this allocator's
  // chunks, into the calling thread's heap when the chunk is its own (and
  // caches the chunk for the next free), else remotely.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void FreeBlock(PageInfo* page, void* ptr) {
    const ChunkHeader* chunk = ChunkOf(ptr);
    if (chunk->owner_tag != ThreadBinding<S>::SlotTag()) {
      return FreeRemote(page, ptr);
    }
    // The slot's heap owns the chunk, so the slot is this allocator's.
    binding_.CacheLocalChunk(chunk);
    ThreadHeap<S>::FreeLocal(page, ptr);
  }
  // Frees `ptr` of `page`, another heap's, batched through the calling
  // thread's heap when it has one.
  ABSL_ATTRIBUTE_NOINLINE void FreeRemote(PageInfo* page, void* ptr) noexcept {
    if (ThreadHeap<S>* mine = binding_.SlotHeap(); mine != nullptr) {
      return mine->FreeRemoteBatched(page, ptr);
    }
    ThreadHeap<S>::FreeRemote(page, ptr);
  }
  // The medium and large paths are slow anyway: they also give back what
  // waited a purge delay, in the calling thread's heap, in heaps no thread
  // uses and in the medium heap, so that memory goes back even when no
  // small size's slow path runs any more.
  void PurgeDue();

  PageInfo* CheckedSmallBlock(void* ptr) {
    PageInfo* page = PageOf(ptr);
    if (ABSL_PREDICT_FALSE(!OnBlockBoundary(*page, ptr))) {
      return CheckedSpanBlock(ptr);
    }
    return page;
  }
  ABSL_ATTRIBUTE_NOINLINE static PageInfo* CheckedSpanBlock(void* ptr) {
    PageInfo* page = SpanOf(ptr);
    if (!OnBlockBoundary(*page, ptr)) {
      ReportMisuse("pointer is not a block of this heap", ptr);
    }
    return page;
  }

  S source_;
  M medium_;
  std::atomic<std::int64_t> next_purge_ns_{0};  // PurgeDue's next full pass.
  // Last, so that the heaps go before the chunks and memory they point to.
  ThreadBinding<S> binding_;
  Sampler sampler_;  // After binding_, so that the fast paths' offsets stay.
};
}  // namespace rusty_malloc

#include "allocator/per_thread/per_thread_malloc_alloc.h"  // IWYU pragma: export
#include "allocator/per_thread/per_thread_malloc_verify.h"  // IWYU pragma: export

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_PER_THREAD_MALLOC_H_
