#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_FREE_BLOCK_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_FREE_BLOCK_H_

#include <cstdint>

#include "absl/base/optimization.h"
#include "allocator/common/misuse.h"

namespace rusty_malloc::per_thread_internal {

// A free small block's first word links it into its page's list; its second
// word holds a canary mixed from its address, which marks it free, so a
// second free of the same block is caught by one compare.
inline void*& NextOf(void* block) { return *static_cast<void**>(block); }
inline std::uintptr_t& CanaryOf(void* block) {
  return static_cast<std::uintptr_t*>(block)[1];
}
inline std::uintptr_t Canary(const void* block) {
  return (reinterpret_cast<std::uintptr_t>(block) * 0x9e3779b97f4a7c15ULL) ^
         0x72757374796d616cULL;
}

inline bool IsMarkedFree(const void* block) {
  return static_cast<const std::uintptr_t*>(block)[1] == Canary(block);
}

// A double free aborts here instead of linking a block into a list twice.
inline void MarkFree(void* block) {
  if (ABSL_PREDICT_FALSE(IsMarkedFree(block))) {
    ReportMisuse("double free, or use of a freed block", block);
  }
  CanaryOf(block) = Canary(block);
}

inline void MarkInUse(void* block) { CanaryOf(block) = 0; }

}  // namespace rusty_malloc::per_thread_internal

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_FREE_BLOCK_H_
