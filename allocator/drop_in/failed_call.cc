#include "allocator/drop_in/failed_call.h"

#include <errno.h>

#include "allocator/common/log_line.h"
#include "allocator/common/tunables.h"

namespace rusty_malloc::c_api {

void FailNoMemory(std::size_t bytes) {
  if (Verbose()) LogLine("out of memory allocating %zu bytes (ENOMEM)", bytes);
  errno = ENOMEM;
}

void FailSizeOverflow(std::size_t count, std::size_t size) {
  if (Verbose()) {
    LogLine("%zu * %zu bytes overflows the address space (ENOMEM)", count,
            size);
  }
  errno = ENOMEM;
}

void FailBadAlignment(std::size_t align) {
  if (Verbose()) LogLine("invalid alignment %zu (EINVAL)", align);
  errno = EINVAL;
}

}  // namespace rusty_malloc::c_api
