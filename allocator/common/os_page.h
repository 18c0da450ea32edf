#ifndef RUSTY_MALLOC_ALLOCATOR_COMMON_OS_PAGE_H_
#define RUSTY_MALLOC_ALLOCATOR_COMMON_OS_PAGE_H_

#include <unistd.h>

#include <cstddef>

namespace rusty_malloc {

// The kernel's page size (4 KiB on x86-64, up to 64 KiB on arm64): what
// madvise, munmap and mremap round to.
inline std::size_t OsPageSize() {
  static const std::size_t page =
      static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_COMMON_OS_PAGE_H_
