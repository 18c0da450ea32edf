#ifndef RUSTY_MALLOC_ALLOCATOR_DROP_IN_C_API_H_
#define RUSTY_MALLOC_ALLOCATOR_DROP_IN_C_API_H_

// The semantics of the C allocation interface over any Heap
// (common/heap.h), using the abilities it has. The drop-in (malloc.cc)
// instantiates them on the global heap; a fuzzer instantiates them on a local
// heap, so every corner of glibc's documented behaviour is tested without
// replacing the process's malloc. Everything is inline: the drop-in's malloc
// must stay a call into the heap's fast path and nothing more.

#include <errno.h>

#include <cstddef>
#include <cstring>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "allocator/common/heap.h"
#include "allocator/common/os_memory.h"
#include "allocator/common/released_bytes.h"
#include "allocator/common/zero_fill.h"
#include "allocator/drop_in/c_api_checks.h"
#include "allocator/drop_in/failed_call.h"

namespace rusty_malloc::c_api {

// The size first: malloc's fast path then reaches this with its argument
// where it came in.
template <Heap H>
[[nodiscard]] ABSL_ATTRIBUTE_NOINLINE void* AllocateOrNoMemorySlow(
    std::size_t size, std::size_t align, H& heap) {
  void* p = heap.Allocate(size, align);
  if (ABSL_PREDICT_FALSE(p == nullptr)) FailNoMemory(size);
  return p;
}

// The heap's fast path alone where it has one (nullptr: take the slow path),
// so that callers keep their failure handling (errno, the new-handler) out
// of it and reach it by a tail call.
template <Heap H>
[[nodiscard]] inline void* TryAllocateFast(H& heap, std::size_t size,
                                           std::size_t align) {
  if constexpr (HasFastPath<H>) {
    return heap.TryAllocateFast(size, align);
  } else {
    return nullptr;
  }
}

template <Heap H>
[[nodiscard]] inline void* AllocateOrNoMemory(H& heap, std::size_t size,
                                              std::size_t align) {
  if (void* p = TryAllocateFast(heap, size, align)) return p;
  return AllocateOrNoMemorySlow(size, align, heap);
}

// memalign and the functions defined through it.
template <Heap H>
[[nodiscard]] inline void* AlignedOrNoMemory(H& heap, std::size_t align,
                                             std::size_t size) {
  if (!IsRoundableAlignment(align)) {
    FailBadAlignment(align);
    return nullptr;
  }
  return AllocateOrNoMemory(heap, size, RoundedAlignment(align));
}

template <Heap H>
[[nodiscard]] inline void* Malloc(H& heap, std::size_t size) {
  return AllocateOrNoMemory(heap, size, kMallocAlignment);
}

template <Heap H>
inline void Free(H& heap, void* ptr) {
  heap.Deallocate(ptr);
}

// free_sized, free_aligned_sized (C23) and sized delete. A heap that can use
// the size (to skip a lookup) gets it; it must still check the block, so
// that a caller's wrong size is caught as misuse rather than turned into
// heap corruption. The others know every block's size.
template <Heap H>
inline void FreeSized(H& heap, void* ptr, std::size_t size) {
  if constexpr (HasSizedFree<H>) {
    heap.DeallocateSized(ptr, size);
  } else {
    heap.Deallocate(ptr);
  }
}

template <Heap H>
[[nodiscard]] inline void* Calloc(H& heap, std::size_t count,
                                  std::size_t size) {
  std::size_t bytes;
  if (ABSL_PREDICT_FALSE(MultiplyOverflows(count, size, &bytes))) {
    FailSizeOverflow(count, size);
    return nullptr;
  }
  // A heap that knows which of its memory is fresh from the OS zeroes only
  // the rest; for any other, reused blocks hold old data, so every block is
  // written.
  if constexpr (HasZeroedAllocation<H>) {
    void* p = heap.AllocateZeroed(bytes);
    if (ABSL_PREDICT_FALSE(p == nullptr)) FailNoMemory(bytes);
    return p;
  } else {
    void* p = AllocateOrNoMemory(heap, bytes, kMallocAlignment);
    if (p != nullptr) ZeroFill(p, bytes);
    return p;
  }
}

template <Heap H>
[[nodiscard]] inline void* Realloc(H& heap, void* ptr, std::size_t size) {
  // glibc frees here; C23 leaves it implementation-defined.
  if (ptr != nullptr && size == 0) {
    heap.Deallocate(ptr);
    return nullptr;
  }
  void* p = heap.Reallocate(ptr, size, kMallocAlignment);
  if (ABSL_PREDICT_FALSE(p == nullptr)) FailNoMemory(size);
  return p;
}

template <Heap H>
[[nodiscard]] inline void* ReallocArray(H& heap, void* ptr, std::size_t count,
                                        std::size_t size) {
  std::size_t bytes;
  if (ABSL_PREDICT_FALSE(MultiplyOverflows(count, size, &bytes))) {
    FailSizeOverflow(count, size);
    return nullptr;
  }
  return Realloc(heap, ptr, bytes);
}

template <Heap H>
[[nodiscard]] inline void* AlignedAlloc(H& heap, std::size_t align,
                                        std::size_t size) {
  if (!IsValidAlignedAllocAlignment(align)) {
    FailBadAlignment(align);
    return nullptr;
  }
  return AlignedOrNoMemory(heap, align, size);
}

template <Heap H>
[[nodiscard]] inline int PosixMemalign(H& heap, void** out, std::size_t align,
                                       std::size_t size) {
  const int saved = errno;
  if (!IsValidPosixMemalignAlignment(align)) {
    FailBadAlignment(align);
    errno = saved;  // posix_memalign reports through its result only.
    return EINVAL;
  }
  void* p = AlignedOrNoMemory(heap, align, size);
  errno = saved;
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

template <Heap H>
[[nodiscard]] inline void* Memalign(H& heap, std::size_t align,
                                    std::size_t size) {
  return AlignedOrNoMemory(heap, align, size);
}

template <Heap H>
[[nodiscard]] inline void* Valloc(H& heap, std::size_t size) {
  return AlignedOrNoMemory(heap, OsPageSize(), size);
}

template <Heap H>
[[nodiscard]] inline void* Pvalloc(H& heap, std::size_t size) {
  const std::size_t os_page = OsPageSize();
  if (PageRoundingOverflows(size, os_page)) {
    FailNoMemory(size);
    return nullptr;
  }
  return AlignedOrNoMemory(heap, os_page, PageRoundedSize(size, os_page));
}

template <Heap H>
[[nodiscard]] inline std::size_t MallocUsableSize(H& heap, void* ptr) {
  return ptr == nullptr ? 0 : heap.UsableSize(ptr);
}

// glibc's malloc_trim: gives free memory back to the OS now, where the heap
// keeps some for reuse; 1 if any memory went back (by the process's count of
// released bytes, so another thread's release at the same moment counts
// too), 0 otherwise. `pad` (what to keep at the top of glibc's heap) has no
// counterpart here.
template <Heap H>
inline int MallocTrim(H& heap, std::size_t /*pad*/) {
  if constexpr (CanReleaseFreeMemory<H>) {
    const std::size_t before = ReleasedBytes();
    heap.ReleaseFreeMemory();
    return ReleasedBytes() != before ? 1 : 0;
  } else {
    return 0;
  }
}

}  // namespace rusty_malloc::c_api

#endif  // RUSTY_MALLOC_ALLOCATOR_DROP_IN_C_API_H_
