#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_RELEASED_BYTES_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_RELEASED_BYTES_H_

#include <atomic>
#include <cstddef>

namespace rusty_malloc {

namespace released_bytes_internal {
inline constinit std::atomic<std::size_t> released{0};
}  // namespace released_bytes_internal

// Every heap in the process counts here the memory it gives back to the OS
// (decommitted or unmapped), so that malloc_trim can tell whether it
// released any. Called on release paths only, each already a syscall.
inline void CountReleased(std::size_t bytes) {
  released_bytes_internal::released.fetch_add(bytes, std::memory_order_relaxed);
}

// The total so far; it only grows (and wraps after 16 EiB).
[[nodiscard]] inline std::size_t ReleasedBytes() {
  return released_bytes_internal::released.load(std::memory_order_relaxed);
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_RELEASED_BYTES_H_
