// LargeHeap's checks and statistics.
#include <algorithm>

#include "allocator/common/os_memory.h"
#include "allocator/common/resident.h"
#include "allocator/common/sanitizer.h"
#include "allocator/large/large_heap.h"

namespace rusty_malloc {

RUSTY_MALLOC_UNCOVERED_WALK HeapReport LargeHeap::Verify() const {
  SpinLockHolder hold(&lock_);
  HeapReport report;
  const std::size_t os_page = OsPageSize();
  live_.ForEach([&report, os_page](std::uintptr_t begin, std::size_t bytes) {
    if (begin % os_page != 0 || bytes == 0 || bytes % os_page != 0) {
      report = {"large mapping is not whole pages",
                reinterpret_cast<const void*>(begin)};
    }
    return report.ok();
  });
  if (!report.ok()) return report;
  std::size_t kept_bytes = 0;
  for (int i = 0; i < kept_count_; ++i) {
    const Kept& kept = kept_[i];
    if (kept.begin % os_page != 0 || kept.bytes == 0 ||
        kept.bytes % os_page != 0) {
      return {"kept large range is not whole pages",
              reinterpret_cast<const void*>(kept.begin)};
    }
    if (i > 0 && kept_[i - 1].end() > kept.begin) {
      return {"kept large ranges overlap or are out of order",
              reinterpret_cast<const void*>(kept.begin)};
    }
    kept_bytes += kept.bytes;
  }
  // Copies for the walk, which the lock analysis does not see into.
  const Kept* const kept = kept_;
  const int kept_count = kept_count_;
  live_.ForEach(
      [&report, kept, kept_count](std::uintptr_t begin, std::size_t bytes) {
        // The first kept range ending after the block starts must not start
        // before the block ends.
        int low = 0;
        int high = kept_count;
        while (low < high) {
          const int mid = low + (high - low) / 2;
          if (kept[mid].end() <= begin) {
            low = mid + 1;
          } else {
            high = mid;
          }
        }
        if (low < kept_count && kept[low].begin < begin + bytes) {
          report = {"large block overlaps memory kept for reuse",
                    reinterpret_cast<const void*>(begin)};
        }
        return report.ok();
      });
  if (!report.ok()) return report;
  // The process's bound may have been lowered since the last Keep.
  if (kept_bytes != kept_bytes_ ||
      (options_.cache_bytes_max && kept_bytes_ > *options_.cache_bytes_max)) {
    return {"large heap's kept byte count is off", nullptr};
  }
  return {};
}

RUSTY_MALLOC_UNCOVERED_WALK HeapStats LargeHeap::Stats() const {
  SpinLockHolder hold(&lock_);
  HeapStats stats;
  live_.ForEach([&stats](std::uintptr_t at, std::size_t bytes) {
    stats.allocated_bytes += bytes;
    ++stats.allocated_blocks;
    stats.resident_bytes += ResidentBytes(reinterpret_cast<void*>(at), bytes);
    return true;
  });
  for (int i = 0; i < kept_count_;) {
    const Run run = RunFrom(i);
    stats.largest_free_block = std::max(stats.largest_free_block, run.bytes);
    i = run.last + 1;
  }
  for (int i = 0; i < kept_count_; ++i) {
    stats.resident_bytes +=
        ResidentBytes(reinterpret_cast<void*>(kept_[i].begin), kept_[i].bytes);
    stats.free_bytes += kept_[i].bytes;
    ++stats.free_blocks;
  }
  stats.heap_bytes = stats.allocated_bytes + stats.free_bytes;
  // Mappings are read-write from the start and reserve nothing more.
  stats.reserved_bytes = stats.committed_bytes = stats.heap_bytes;
  return stats;
}

}  // namespace rusty_malloc
