#ifndef RUSTY_MALLOC_TESTING_RESIDENT_H_
#define RUSTY_MALLOC_TESTING_RESIDENT_H_

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace rusty_malloc::testing {

// How many of the 4 KiB pages covering [p, p + n) are resident (mincore);
// SIZE_MAX when the range is not all mapped.
inline std::size_t ResidentPages(const void* p, std::size_t n) {
  constexpr std::size_t kPage = 4096;
  const auto begin = reinterpret_cast<std::uintptr_t>(p) / kPage * kPage;
  const std::size_t pages =
      (reinterpret_cast<std::uintptr_t>(p) + n - begin + kPage - 1) / kPage;
  std::vector<unsigned char> in_core(pages);
  if (mincore(reinterpret_cast<void*>(begin), pages * kPage, in_core.data()) !=
      0) {
    return SIZE_MAX;
  }
  std::size_t resident = 0;
  for (unsigned char page : in_core) resident += page & 1;
  return resident;
}

// The process's resident set, from /proc/self/statm; 0 if unreadable.
inline std::size_t ResidentBytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  unsigned long size = 0, resident = 0;
  if (statm != nullptr) {
    if (std::fscanf(statm, "%lu %lu", &size, &resident) != 2) resident = 0;
    std::fclose(statm);
  }
  return resident * 4096;
}

}  // namespace rusty_malloc::testing

#endif  // RUSTY_MALLOC_TESTING_RESIDENT_H_
