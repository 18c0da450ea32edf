#ifndef RUSTY_MALLOC_ALLOCATOR_DROP_IN_C_API_H_
#define RUSTY_MALLOC_ALLOCATOR_DROP_IN_C_API_H_

// The semantics of the C allocation interface and of operator new/delete,
// over any heap with the allocators' interface (Allocate(size, align),
// Deallocate, Reallocate(ptr, size, align), UsableSize). The drop-in
// (malloc.cc, new_delete.cc) instantiates them on the global heap; a fuzzer
// instantiates them on a local heap, so every corner of glibc's documented
// behaviour is tested without replacing the process's malloc.
//
// Argument checks are pure functions, apart from the wrappers, so they can be
// tested (and read) on their own. Everything is inline: the drop-in's malloc
// must stay a call into the heap's fast path and nothing more.

#include <errno.h>
#include <unistd.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "allocator/common/planted_bug.h"

namespace rusty_malloc::c_api {

// What malloc guarantees: alignof(max_align_t) on x86-64.
inline constexpr std::size_t kMallocAlignment = 16;
inline constexpr std::size_t kNewAlignment = __STDCPP_DEFAULT_NEW_ALIGNMENT__;

// ---- Argument checks ----

// calloc and reallocarray: true when count * size is not representable.
constexpr bool MultiplyOverflows(std::size_t count, std::size_t size,
                                 std::size_t* product) {
  return __builtin_mul_overflow(count, size, product);
}

constexpr bool IsPowerOfTwo(std::size_t x) {
  return x != 0 && (x & (x - 1)) == 0;
}

// C11 aligned_alloc: glibc takes any power of two (EINVAL otherwise), with
// no requirement that the size be a multiple of it.
constexpr bool IsValidAlignedAllocAlignment(std::size_t align) {
  return IsPowerOfTwo(align);
}

// POSIX: a power of two and a multiple of sizeof(void*), else EINVAL.
constexpr bool IsValidPosixMemalignAlignment(std::size_t align) {
  return IsPowerOfTwo(align) && align % sizeof(void*) == 0;
}

// memalign's only refusal: an alignment whose next power of two does not
// exist.
constexpr bool IsRoundableAlignment(std::size_t align) {
  return align <= (SIZE_MAX >> 1) + 1;
}

// memalign's rule: a non-power-of-two alignment rounds up to one, and
// nothing is less aligned than malloc. Requires IsRoundableAlignment.
constexpr std::size_t RoundedAlignment(std::size_t align) {
  if ((align & (align - 1)) != 0) align = std::bit_ceil(align);
  return align < kMallocAlignment ? kMallocAlignment : align;
}

// pvalloc: true when rounding `size` up to a page would overflow.
constexpr bool PageRoundingOverflows(std::size_t size, std::size_t page) {
  return size > SIZE_MAX - page;
}

// pvalloc's size: whole pages, at least one. Requires !PageRoundingOverflows.
constexpr std::size_t PageRoundedSize(std::size_t size, std::size_t page) {
  return size == 0 ? page : (size + page - 1) / page * page;
}

inline std::size_t PageSize() {
  return static_cast<std::size_t>(getpagesize());
}

// ---- The C interface ----

template <typename Heap>
inline void* AllocateOrNoMemory(Heap& heap, std::size_t size,
                                std::size_t align) {
  void* p = heap.Allocate(size, align);
  if (p == nullptr) errno = ENOMEM;
  return p;
}

// memalign and the functions defined through it.
template <typename Heap>
inline void* AlignedOrNoMemory(Heap& heap, std::size_t align,
                               std::size_t size) {
  if (!IsRoundableAlignment(align)) {
    errno = EINVAL;
    return nullptr;
  }
  return AllocateOrNoMemory(heap, size, RoundedAlignment(align));
}

template <typename Heap>
inline void* Malloc(Heap& heap, std::size_t size) {
  return AllocateOrNoMemory(heap, size, kMallocAlignment);
}

template <typename Heap>
inline void Free(Heap& heap, void* ptr) {
  heap.Deallocate(ptr);
}

template <typename Heap>
inline void* Calloc(Heap& heap, std::size_t count, std::size_t size) {
  std::size_t bytes;
  if (MultiplyOverflows(count, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  void* p = AllocateOrNoMemory(heap, bytes, kMallocAlignment);
  // Reused blocks hold old data, and a heap may recycle its memory without
  // returning it to the OS, so even large blocks are not known to be zero.
  if (p == nullptr) return p;
  if (Planted(PlantedBug::kCallocSkipsZeroing)) {
    if (bytes > 4096) return p;
  }
  std::memset(p, 0, bytes);
  return p;
}

template <typename Heap>
inline void* Realloc(Heap& heap, void* ptr, std::size_t size) {
  // glibc frees here; C23 leaves it implementation-defined.
  if (ptr != nullptr && size == 0) {
    heap.Deallocate(ptr);
    return nullptr;
  }
  void* p = heap.Reallocate(ptr, size, kMallocAlignment);
  if (p == nullptr) errno = ENOMEM;
  return p;
}

template <typename Heap>
inline void* ReallocArray(Heap& heap, void* ptr, std::size_t count,
                          std::size_t size) {
  std::size_t bytes;
  if (MultiplyOverflows(count, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return Realloc(heap, ptr, bytes);
}

template <typename Heap>
inline void* AlignedAlloc(Heap& heap, std::size_t align, std::size_t size) {
  if (!IsValidAlignedAllocAlignment(align)) {
    errno = EINVAL;
    return nullptr;
  }
  return AlignedOrNoMemory(heap, align, size);
}

template <typename Heap>
inline int PosixMemalign(Heap& heap, void** out, std::size_t align,
                         std::size_t size) {
  if (!IsValidPosixMemalignAlignment(align)) return EINVAL;
  const int saved = errno;
  void* p = AlignedOrNoMemory(heap, align, size);
  errno = saved;  // posix_memalign reports through its result only.
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

template <typename Heap>
inline void* Memalign(Heap& heap, std::size_t align, std::size_t size) {
  return AlignedOrNoMemory(heap, align, size);
}

template <typename Heap>
inline void* Valloc(Heap& heap, std::size_t size) {
  return AlignedOrNoMemory(heap, PageSize(), size);
}

template <typename Heap>
inline void* Pvalloc(Heap& heap, std::size_t size) {
  const std::size_t page = PageSize();
  if (PageRoundingOverflows(size, page)) {
    errno = ENOMEM;
    return nullptr;
  }
  return AlignedOrNoMemory(heap, page, PageRoundedSize(size, page));
}

template <typename Heap>
inline std::size_t MallocUsableSize(Heap& heap, void* ptr) {
  return ptr == nullptr ? 0 : heap.UsableSize(ptr);
}

// ---- operator new and delete ----

// The standard's loop: on failure the new-handler gets its chance (to free
// memory, or to throw), and without one the allocation fails.
template <typename Heap>
inline void* NewOrNull(Heap& heap, std::size_t size, std::size_t align) {
  for (;;) {
    if (void* p = heap.Allocate(size, align)) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) return nullptr;
    handler();
  }
}

template <typename Heap>
inline void* NewOrThrow(Heap& heap, std::size_t size, std::size_t align) {
  void* p = NewOrNull(heap, size, align);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

template <typename Heap>
inline void* NewNoThrow(Heap& heap, std::size_t size,
                        std::size_t align) noexcept {
  try {
    return NewOrNull(heap, size, align);
  } catch (...) {  // A new-handler may throw.
    return nullptr;
  }
}

template <typename Heap>
inline void Delete(Heap& heap, void* ptr) noexcept {
  heap.Deallocate(ptr);
}

// The heap knows every block's size, so the caller's is not needed; trusting
// it instead would turn a caller's wrong size into heap corruption.
template <typename Heap>
inline void SizedDelete(Heap& heap, void* ptr, std::size_t) noexcept {
  heap.Deallocate(ptr);
}

}  // namespace rusty_malloc::c_api

#endif  // RUSTY_MALLOC_ALLOCATOR_DROP_IN_C_API_H_
