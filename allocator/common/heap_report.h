#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_HEAP_REPORT_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_HEAP_REPORT_H_

#include <cstddef>
#include <string>

namespace rusty_malloc {

// A snapshot of a heap's occupancy. Block byte counts include headers, so
// that allocated_bytes + free_bytes + overhead_bytes == heap_bytes.
struct HeapStats {
  std::size_t allocated_bytes = 0;
  std::size_t allocated_blocks = 0;
  std::size_t free_bytes = 0;
  std::size_t free_blocks = 0;
  std::size_t largest_free_block = 0;
  std::size_t overhead_bytes = 0;  // Heap framing that is never a block.
  std::size_t heap_bytes = 0;      // The grower's extent.
};

// The outcome of a heap walk: the first invariant found broken, if any. Holds
// only static strings and an address, so producing one never allocates.
struct HeapReport {
  const char* broken = nullptr;  // Names the invariant; nullptr when intact.
  const void* where = nullptr;   // The block or node where it broke.

  bool ok() const { return broken == nullptr; }
  // For test failures and logs; this one does allocate.
  std::string ToString() const;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_HEAP_REPORT_H_
