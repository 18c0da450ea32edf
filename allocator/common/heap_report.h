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
  // The memory behind the heap as the OS sees it, each part of the one
  // before: address space held (in any protection), what of it is readable
  // and writable (what counts against the commit limit), and what of that
  // is in RAM now.
  std::size_t reserved_bytes = 0;
  std::size_t committed_bytes = 0;
  std::size_t resident_bytes = 0;

  // Sums two heaps' figures (the largest free block is the larger one).
  HeapStats& operator+=(const HeapStats& other);
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
