#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_MEDIUM_HEAP_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_MEDIUM_HEAP_H_

#include <concepts>
#include <cstddef>

#include "allocator/common/heap_report.h"
#include "allocator/contiguous/raw_malloc.h"
#include "allocator/contiguous/rusty_malloc.h"
#include "allocator/contiguous/segregated_freelist.h"
#include "growers/mmap_grower.h"

namespace rusty_malloc {

// The heap PerThreadMalloc sends what no small size class serves (sizes above
// kSmallMax, alignments above the classes'): thread-safe, with the
// allocators' interface, and default-constructible (constexpr, for the
// allocator to be a constinit global). LockForFork and UnlockAfterFork too
// where PerThreadMalloc's are used.
template <typename M>
concept MediumHeap = std::default_initializable<M> &&
    requires(M& heap, void* ptr, const void* cptr, std::size_t n) {
  { heap.Allocate(n, n) } -> std::same_as<void*>;
  heap.Deallocate(ptr);
  { heap.Reallocate(ptr, n, n) } -> std::same_as<void*>;
  { heap.UsableSize(ptr) } -> std::same_as<std::size_t>;
  { heap.IsLiveBlock(cptr) } -> std::same_as<bool>;
  { heap.Verify() } -> std::same_as<HeapReport>;
  { heap.Stats() } -> std::same_as<HeapStats>;
};

// The default: the original design's heap, segregated fit, on a 64 GiB
// reservation committed 1 MiB at a time.
class DefaultMediumHeap : public RustyMalloc<MmapGrower, SegregatedFreeList> {
 public:
  constexpr DefaultMediumHeap()
      : RustyMalloc(MmapGrower(std::size_t{64} << 30, 1 << 20), Options()) {}

 private:
  // Blocks here are 32 KiB to megabytes: trimming at RawMalloc's default
  // 1 MiB would shrink and regrow the heap (two syscalls, under the lock) on
  // every few large frees.
  static constexpr RawMallocOptions Options() {
    RawMallocOptions options;
    options.trim_threshold = std::size_t{32} << 20;
    options.top_pad = std::size_t{8} << 20;
    return options;
  }
};

static_assert(MediumHeap<DefaultMediumHeap>);

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_MEDIUM_HEAP_H_
