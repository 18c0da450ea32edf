#include "allocator/common/heap_report.h"

#include <cstdio>

namespace rusty_malloc {

std::string HeapReport::ToString() const {
  if (ok()) return "heap intact";
  char where_text[32];
  std::snprintf(where_text, sizeof(where_text), "%p", where);
  return std::string(broken) + " at " + where_text;
}

}  // namespace rusty_malloc
