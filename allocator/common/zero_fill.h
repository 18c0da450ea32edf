#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_ZERO_FILL_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_ZERO_FILL_H_

#include <cstddef>
#include <cstring>

#include "allocator/common/planted_bug.h"

namespace rusty_malloc {

// Zeroes the first `bytes` of a block that may hold old data: calloc's
// write, for every heap path that cannot prove its memory is fresh.
inline void ZeroFill(void* block, std::size_t bytes) {
  if (Planted(PlantedBug::kCallocSkipsZeroing) && bytes > 4096) return;
  std::memset(block, 0, bytes);
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_ZERO_FILL_H_
