#ifndef RUSTY_MALLOC_TESTING_LARGE_HEAP_CHECKS_H_
#define RUSTY_MALLOC_TESTING_LARGE_HEAP_CHECKS_H_

// What LargeHeap's tests share: whether a page is still mapped, and options
// that keep freed mappings until told otherwise.

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>

#include "allocator/large/large_heap.h"

namespace rusty_malloc::testing {

inline constexpr std::size_t kMiB = std::size_t{1} << 20;

// Whether the page at `p` is still mapped: msync fails with ENOMEM on an
// unmapped range.
inline bool Mapped(const void* p) {
  return msync(const_cast<void*>(p), LargeHeap::kOsPage, MS_ASYNC) == 0;
}

inline LargeHeapOptions NeverPurge() {
  LargeHeapOptions options;
  options.purge_delay_ns = std::int64_t{1} << 62;
  return options;
}

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTING_LARGE_HEAP_CHECKS_H_
