#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_RESIDENT_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_RESIDENT_H_

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>

#include "allocator/common/os_memory.h"

namespace rusty_malloc {

// The bytes of the pages covering [p, p + n) that are in RAM now (mincore);
// pages not mapped count as not resident. Allocates nothing, so heap
// statistics can use it from inside malloc.
inline std::size_t ResidentBytes(const void* p, std::size_t n) {
  if (n == 0) return 0;
  const std::size_t page = OsPageSize();
  auto at = reinterpret_cast<std::uintptr_t>(p) & ~(page - 1);
  const std::uintptr_t end = reinterpret_cast<std::uintptr_t>(p) + n;
  std::size_t resident = 0;
  unsigned char in_core[256];
  while (at < end) {
    std::size_t pages = (end - at + page - 1) / page;
    if (pages > sizeof(in_core)) pages = sizeof(in_core);
    if (mincore(reinterpret_cast<void*>(at), pages * page, in_core) == 0) {
      for (std::size_t i = 0; i < pages; ++i) resident += in_core[i] & 1;
    }
    at += pages * page;
  }
  return resident * page;
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_RESIDENT_H_
