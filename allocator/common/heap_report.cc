#include "allocator/common/heap_report.h"

#include <algorithm>
#include <cstdio>

namespace rusty_malloc {

HeapStats& HeapStats::operator+=(const HeapStats& other) {
  allocated_bytes += other.allocated_bytes;
  allocated_blocks += other.allocated_blocks;
  free_bytes += other.free_bytes;
  free_blocks += other.free_blocks;
  largest_free_block = std::max(largest_free_block, other.largest_free_block);
  overhead_bytes += other.overhead_bytes;
  heap_bytes += other.heap_bytes;
  reserved_bytes += other.reserved_bytes;
  committed_bytes += other.committed_bytes;
  resident_bytes += other.resident_bytes;
  return *this;
}

std::string HeapReport::ToString() const {
  if (ok()) return "heap intact";
  char where_text[32];
  std::snprintf(where_text, sizeof(where_text), "%p", where);
  return std::string(broken) + " at " + where_text;
}

}  // namespace rusty_malloc
