#ifndef RUSTY_MALLOC_ALLOCATOR_ADAPTORS_STL_ALLOCATOR_H_
#define RUSTY_MALLOC_ALLOCATOR_ADAPTORS_STL_ALLOCATOR_H_

#include <cstddef>
#include <limits>
#include <new>
#include <type_traits>

#include "allocator/common/heap.h"

namespace rusty_malloc {

// A standard allocator that allocates from one allocator instance, the
// C++ counterpart of Rust's Vec::with_capacity_in(n, &heap):
//
//   RawMalloc<BufferGrower> heap{BufferGrower(storage)};
//   std::vector<int, StlAllocator<int, decltype(heap)>> v{
//       StlAllocator<int, decltype(heap)>(heap)};
//
// Copies share the instance, which must outlive every container using it.
// Failure throws std::bad_alloc, as the standard requires.
template <typename T, Heap A>
class StlAllocator {
 public:
  using value_type = T;
  using propagate_on_container_copy_assignment = std::true_type;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;

  explicit StlAllocator(A& heap) noexcept : heap_(&heap) {}
  template <typename U>
  StlAllocator(const StlAllocator<U, A>& other) noexcept  // NOLINT: rebinding
      : heap_(other.heap()) {}

  [[nodiscard]] T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) {
      throw std::bad_array_new_length();
    }
    void* p = heap_->Allocate(n * sizeof(T), alignof(T));
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) noexcept { heap_->Deallocate(p); }

  A* heap() const noexcept { return heap_; }

  template <typename U>
  bool operator==(const StlAllocator<U, A>& other) const noexcept {
    return heap_ == other.heap();
  }

 private:
  A* heap_;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_ADAPTORS_STL_ALLOCATOR_H_
