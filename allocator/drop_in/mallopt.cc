#include "allocator/drop_in/mallopt.h"

#include <malloc.h>

#include <cstddef>

namespace rusty_malloc {

bool ApplyMallopt(int param, int value, Tunables& tunables) {
  switch (param) {
    case M_TRIM_THRESHOLD:
      // As glibc converts it: -1 is SIZE_MAX, no bound.
      tunables.retained_bytes_max.store(static_cast<std::size_t>(value),
                                        std::memory_order_relaxed);
      return true;
    case M_CHECK_ACTION:
      return (value & 2) != 0;
    default:
      return false;
  }
}

}  // namespace rusty_malloc
