#ifndef RUSTY_MALLOC_ALLOCATOR_ADAPTORS_HEAP_ALLOCATOR_H_
#define RUSTY_MALLOC_ALLOCATOR_ADAPTORS_HEAP_ALLOCATOR_H_

#include "allocator/common/heap.h"

namespace rusty_malloc {

// The name the adaptors' users have spelled the requirement by: any Heap
// (common/heap.h).
template <typename A>
concept HeapAllocator = Heap<A>;

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_ADAPTORS_HEAP_ALLOCATOR_H_
