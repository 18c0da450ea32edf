#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_REALLOC_BY_MOVING_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_REALLOC_BY_MOVING_H_

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace rusty_malloc {

// The second half of every Reallocate, once resizing in place has failed:
// allocates `size` bytes at `align` from `heap`, copies what fits of the
// `old_usable` bytes at `ptr`, and frees `ptr`. On failure returns nullptr
// and leaves `ptr` untouched, as realloc must. The caller owns `ptr` until
// it gets the new block, so no other thread touches it: the copy runs
// without the heap's lock.
template <typename Heap>
[[nodiscard]] void* ReallocByMoving(Heap& heap, void* ptr,
                                    std::size_t old_usable, std::size_t size,
                                    std::size_t align) {
  void* moved = heap.Allocate(size, align);
  if (moved == nullptr) return nullptr;
  std::memcpy(moved, ptr, std::min(old_usable, size));
  heap.Deallocate(ptr);
  return moved;
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_REALLOC_BY_MOVING_H_
