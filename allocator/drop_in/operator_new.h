#ifndef RUSTY_MALLOC_ALLOCATOR_DROP_IN_OPERATOR_NEW_H_
#define RUSTY_MALLOC_ALLOCATOR_DROP_IN_OPERATOR_NEW_H_

// The semantics of operator new and delete over any heap with Allocate(size,
// align) and Deallocate: the drop-in (new_delete.cc) instantiates them on the
// global heap, a fuzzer on a local one.

#include <cstddef>
#include <new>

#include "absl/base/attributes.h"
#include "allocator/drop_in/c_api.h"
#include "allocator/drop_in/cxx_runtime.h"
#include "allocator/drop_in/failed_call.h"

namespace rusty_malloc::c_api {

// The standard's loop: on failure the new-handler gets its chance (to free
// memory, or to throw), and without one the allocation fails.
template <typename Heap>
[[nodiscard]] inline void* NewOrNull(Heap& heap, std::size_t size,
                                     std::size_t align) {
  for (;;) {
    if (void* p = heap.Allocate(size, align)) return p;
    std::new_handler handler = ProgramNewHandler();
    if (handler == nullptr) return nullptr;
    handler();
  }
}

template <typename Heap>
[[nodiscard]] ABSL_ATTRIBUTE_NOINLINE void* NewOrThrowSlow(Heap& heap,
                                                           std::size_t size,
                                                           std::size_t align) {
  void* p = NewOrNull(heap, size, align);
  if (p == nullptr) {
    FailNoMemory(size);
    ThrowBadAlloc();
  }
  return p;
}

template <typename Heap>
[[nodiscard]] inline void* NewOrThrow(Heap& heap, std::size_t size,
                                      std::size_t align) {
  if (void* p = TryAllocateFast(heap, size, align)) return p;
  return NewOrThrowSlow(heap, size, align);
}

template <typename Heap>
[[nodiscard]] inline void* NewNoThrow(Heap& heap, std::size_t size,
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

template <typename Heap>
inline void SizedDelete(Heap& heap, void* ptr, std::size_t size) noexcept {
  FreeSized(heap, ptr, size);
}

}  // namespace rusty_malloc::c_api

#endif  // RUSTY_MALLOC_ALLOCATOR_DROP_IN_OPERATOR_NEW_H_
