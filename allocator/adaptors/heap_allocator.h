#ifndef RUSTY_MALLOC_ALLOCATOR_ADAPTORS_HEAP_ALLOCATOR_H_
#define RUSTY_MALLOC_ALLOCATOR_ADAPTORS_HEAP_ALLOCATOR_H_

#include <concepts>
#include <cstddef>

namespace rusty_malloc {

// What the C++ adaptors need of an allocator instance: RawMalloc and
// RustyMalloc over any grower, and PerThreadMalloc, satisfy it. Allocate
// returns nullptr on failure; Deallocate takes what Allocate returned.
template <typename A>
concept HeapAllocator = requires(A& heap, void* ptr, std::size_t n) {
  { heap.Allocate(n, n) } -> std::same_as<void*>;
  heap.Deallocate(ptr);
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_ADAPTORS_HEAP_ALLOCATOR_H_
