#ifndef RUSTY_MALLOC_TESTING_RESIDENT_H_
#define RUSTY_MALLOC_TESTING_RESIDENT_H_

#include <cstddef>
#include <cstdio>

#include "allocator/common/os_memory.h"
#include "allocator/common/resident.h"

namespace rusty_malloc::testing {

// How many of the OS pages covering [p, p + n) are resident (mincore).
inline std::size_t ResidentPages(const void* p, std::size_t n) {
  return rusty_malloc::ResidentBytes(p, n) / OsPageSize();
}

// The process's resident set, from /proc/self/statm; 0 if unreadable.
inline std::size_t ProcessResidentBytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  unsigned long size = 0, resident = 0;
  if (statm != nullptr) {
    if (std::fscanf(statm, "%lu %lu", &size, &resident) != 2) resident = 0;
    std::fclose(statm);
  }
  return resident * OsPageSize();
}

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTING_RESIDENT_H_
