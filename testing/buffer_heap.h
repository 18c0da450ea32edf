#ifndef RUSTY_MALLOC_TESTING_BUFFER_HEAP_H_
#define RUSTY_MALLOC_TESTING_BUFFER_HEAP_H_

#include <cstddef>

#include "allocator/contiguous/raw_malloc.h"
#include "growers/buffer_grower.h"
#include "growers/grower.h"

namespace rusty_malloc::testing {

// A RawMalloc over a buffer of kBytes held alongside it: a heap on the stack
// or in static storage, wherever the test puts this. Neither copyable nor
// movable, as the heap points into the buffer.
template <std::size_t kBytes>
struct BufferHeap {
  BufferHeap() = default;
  BufferHeap(const BufferHeap&) = delete;
  BufferHeap& operator=(const BufferHeap&) = delete;

  // Whether `p` points into the buffer.
  bool Holds(const void* p) const {
    const auto* b = static_cast<const std::byte*>(p);
    return b >= storage && b < storage + kBytes;
  }

  alignas(kGrowerAlignment) std::byte storage[kBytes];
  RawMalloc<BufferGrower> heap{BufferGrower(storage)};
};

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTING_BUFFER_HEAP_H_
