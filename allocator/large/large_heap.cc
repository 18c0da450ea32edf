#include "allocator/large/large_heap.h"

#include <algorithm>
#include <cerrno>

#include "absl/base/optimization.h"
#include "allocator/common/monotonic_clock.h"
#include "allocator/common/os_memory.h"
#include "allocator/common/planted_bug.h"
#include "allocator/common/released_bytes.h"
#include "allocator/common/resident.h"
#include "allocator/common/sanitizer.h"

namespace rusty_malloc {
namespace {

// `size` rounded up to whole pages, or 0 when that overflows or exceeds what
// a mapping (and ptrdiff_t) can span.
std::size_t MappingBytes(std::size_t size) {
  constexpr std::size_t kMax = static_cast<std::size_t>(PTRDIFF_MAX) / 2;
  if (size > kMax) return 0;
  const std::size_t page = OsPageSize();
  const std::size_t bytes = (size + page - 1) & ~(page - 1);
  return bytes == 0 ? page : bytes;
}

}  // namespace

LargeHeap::~LargeHeap() {
  Unmaps unmaps;
  {
    SpinLockHolder hold(&lock_);
    while (kept_count_ > 0) DropKept(kept_count_ - 1, unmaps);
  }
  unmaps.Run();
  // Live blocks stay mapped: their owners may still use them.
}

void LargeHeap::Unmaps::Add(std::uintptr_t begin, std::size_t bytes) {
  // Neighbours going back together take one syscall.
  if (count > 0 && list[count - 1].end() == begin) {
    list[count - 1].bytes += bytes;
    return;
  }
  if (count > 0 && list[count - 1].begin == begin + bytes) {
    list[count - 1].begin = begin;
    list[count - 1].bytes += bytes;
    return;
  }
  list[count++] = {begin, bytes, 0, 0};
}

void LargeHeap::Unmaps::Run() {
  for (int i = 0; i < count; ++i) {
    // ASan's shadow outlives the mapping: whoever maps these addresses
    // next must not find them poisoned.
    Unpoison(reinterpret_cast<void*>(list[i].begin), list[i].bytes);
    Unmap(reinterpret_cast<void*>(list[i].begin), list[i].bytes);
    CountReleased(list[i].bytes);
  }
  count = 0;
}

void* LargeHeap::Allocate(std::size_t size, bool* zeroed) {
  const std::size_t bytes = MappingBytes(size);
  if (bytes == 0) {
    errno = ENOMEM;
    return nullptr;
  }
  Unmaps unmaps;
  Kept taken;
  {
    SpinLockHolder hold(&lock_);
    ExpireKept(CoarseNowNs(), unmaps);
    taken = TakeKept(bytes);
  }
  unmaps.Run();
  std::uintptr_t begin = taken.begin;
  std::size_t got = taken.bytes;
  std::uint64_t origin = taken.origin;  // 0: a mapping of its own.
  if (got != 0) Unpoison(reinterpret_cast<void*>(begin), got);
  // Kept pages keep whatever the program did to its block: a PROT_NONE
  // guard page, mlock, MADV_DONTFORK. The next owner gets a fresh block's
  // attributes (glibc unmaps such blocks; keeping them saves the faults).
  if (got != 0 &&
      !RestoreFreshAttributes(reinterpret_cast<void*>(begin), got)) {
    Unmap(reinterpret_cast<void*>(begin), got);
    got = 0;
  }
  if (got != 0 && got < bytes) {
    // Grown by the kernel: the pages it holds stay resident, so only the
    // rest fault in.
    void* grown = Remap(reinterpret_cast<void*>(begin), got, bytes);
    if (grown == nullptr) {
      Unmap(reinterpret_cast<void*>(begin), got);
      got = 0;
    } else {
      if (reinterpret_cast<std::uintptr_t>(grown) != begin) origin = 0;
      begin = reinterpret_cast<std::uintptr_t>(grown);
      got = bytes;
    }
  }
  const bool reused = got != 0;
  if (!reused) {
    void* fresh = Map(bytes);
    if (fresh == nullptr) {
      errno = ENOMEM;
      return nullptr;
    }
    begin = reinterpret_cast<std::uintptr_t>(fresh);
    got = bytes;
    origin = 0;
  }
  bool recorded;
  {
    SpinLockHolder hold(&lock_);
    if (origin == 0) origin = ++last_origin_;
    recorded = live_.Insert(begin, got, origin);
  }
  if (!recorded) {
    Unmap(reinterpret_cast<void*>(begin), got);
    errno = ENOMEM;
    return nullptr;
  }
  *zeroed = !reused || Planted(PlantedBug::kKeptMappingCountsAsZero);
  return reinterpret_cast<void*>(begin);
}

std::size_t LargeHeap::TryDeallocate(void* ptr) {
  const auto begin = reinterpret_cast<std::uintptr_t>(ptr);
  Unmaps unmaps;
  std::size_t bytes;
  {
    SpinLockHolder hold(&lock_);
    std::uint64_t origin;
    bytes = live_.Erase(begin, &origin);
    if (bytes == 0) return 0;
    const std::int64_t now = CoarseNowNs();
    ExpireKept(now, unmaps);
    Keep(begin, bytes, origin, now, unmaps);
  }
  unmaps.Run();
  return bytes;
}

std::size_t LargeHeap::UsableSize(const void* ptr) const {
  SpinLockHolder hold(&lock_);
  return live_.Find(reinterpret_cast<std::uintptr_t>(ptr));
}

void* LargeHeap::Reallocate(void* ptr, std::size_t size) {
  const auto begin = reinterpret_cast<std::uintptr_t>(ptr);
  const std::size_t bytes = MappingBytes(size);
  std::size_t old_bytes;
  std::uint64_t origin;
  {
    SpinLockHolder hold(&lock_);
    old_bytes = live_.Find(begin);
    if (old_bytes == 0) return nullptr;
    if (bytes == 0 || bytes == old_bytes) {
      if (bytes == 0) errno = ENOMEM;
      return bytes == 0 ? nullptr : ptr;
    }
    // The slot it goes back into is held, so that another thread's insert
    // meanwhile cannot leave the table needing to grow (and failing) then.
    if (!live_.ReserveSlot()) {
      errno = ENOMEM;
      return nullptr;
    }
    // Out of the table while the kernel moves it, so that a mapping another
    // thread gets at the old address meanwhile is recorded alone. The block
    // is the caller's: nobody else frees or resizes it.
    live_.Erase(begin, &origin);
  }
  if (ABSL_PREDICT_FALSE(remap_hook_ != nullptr)) remap_hook_(remap_hook_arg_);
  void* moved = Remap(ptr, old_bytes, bytes);
  const bool ok = moved != nullptr;
  if (!ok) errno = ENOMEM;
  const auto now_at = ok ? reinterpret_cast<std::uintptr_t>(moved) : begin;
  SpinLockHolder hold(&lock_);
  if (now_at != begin) origin = ++last_origin_;
  live_.InsertReserved(now_at, ok ? bytes : old_bytes, origin);
  return ok ? moved : nullptr;
}

void LargeHeap::ReleaseExpired() {
  Unmaps unmaps;
  {
    SpinLockHolder hold(&lock_);
    ExpireKept(CoarseNowNs(), unmaps);
  }
  unmaps.Run();
}

void LargeHeap::ReleaseCached() {
  Unmaps unmaps;
  {
    SpinLockHolder hold(&lock_);
    while (kept_count_ > 0) DropKept(kept_count_ - 1, unmaps);
  }
  unmaps.Run();
}

LargeHeap::Kept LargeHeap::TakeKept(std::size_t bytes) {
  // Sizes are whole pages and kReuseWholeFactor divides a page, so `have /
  // kReuseWholeFactor` is exact (and `bytes * kReuseWholeFactor` could
  // overflow).
  int whole = -1;
  for (int i = 0; i < kept_count_; ++i) {
    const std::size_t have = kept_[i].bytes;
    if (have >= bytes && have / kReuseWholeFactor <= bytes &&
        (whole < 0 || have < kept_[whole].bytes)) {
      whole = i;
    }
  }
  Run fit = {-1, -1, 0};   // The smallest run that holds `bytes`.
  Run grow = {-1, -1, 0};  // The largest shorter one, at least half of it.
  for (int i = 0; i < kept_count_;) {
    const Run run = RunFrom(i);
    if (run.bytes >= bytes) {
      if (fit.first < 0 || run.bytes < fit.bytes) fit = run;
    } else if (run.bytes >= bytes / 2 && run.bytes > grow.bytes) {
      grow = run;
    }
    i = run.last + 1;
  }
  // A range inside a run is never more than the run, so `fit` exists.
  if (whole >= 0 && fit.bytes >= kept_[whole].bytes) {
    return Carve(whole, kept_[whole].bytes);
  }
  if (fit.first >= 0) return Carve(fit.first, bytes);
  if (grow.first >= 0) return Carve(grow.first, grow.bytes);
  return {0, 0, 0, 0};
}

LargeHeap::Run LargeHeap::RunFrom(int first) const {
  Run run = {first, first, kept_[first].bytes};
  while (run.last + 1 < kept_count_ &&
         kept_[run.last].end() == kept_[run.last + 1].begin &&
         kept_[run.last].origin == kept_[run.last + 1].origin) {
    ++run.last;
    run.bytes += kept_[run.last].bytes;
  }
  return run;
}

LargeHeap::Kept LargeHeap::Carve(int first, std::size_t bytes) {
  const std::uintptr_t begin = kept_[first].begin;
  const std::uintptr_t end = begin + bytes;
  const std::uint64_t origin = kept_[first].origin;
  std::int64_t since = kept_[first].since_ns;
  int after = first;  // The first range not wholly taken.
  for (; after < kept_count_ && kept_[after].end() <= end; ++after) {
    since = std::min(since, kept_[after].since_ns);
  }
  if (after < kept_count_ && kept_[after].begin < end) {
    // Its tail stays, as old as it was: pages a cut leaves unused are not
    // made younger by their neighbours' reuse.
    since = std::min(since, kept_[after].since_ns);
    kept_[after].bytes -= end - kept_[after].begin;
    kept_[after].begin = end;
  }
  std::copy(kept_ + after, kept_ + kept_count_, kept_ + first);
  kept_count_ -= after - first;
  kept_bytes_ -= bytes;
  return {begin, bytes, since, origin};
}

void LargeHeap::Keep(std::uintptr_t begin, std::size_t bytes,
                     std::uint64_t origin, std::int64_t now, Unmaps& unmaps) {
  const std::size_t cache_bytes_max = CacheBytesMax();
  if (bytes > options_.cache_entry_max || bytes > cache_bytes_max) {
    unmaps.Add(begin, bytes);
    return;
  }
  // Out of slots, the smallest goes, unless this one is smaller still: a
  // miss costs a page fault per page, so large ranges are worth more.
  if (kept_count_ == kKeptSlots) {
    int smallest = 0;
    for (int i = 1; i < kept_count_; ++i) {
      if (kept_[i].bytes < kept_[smallest].bytes) smallest = i;
    }
    if (kept_[smallest].bytes >= bytes) {
      unmaps.Add(begin, bytes);
      return;
    }
    DropKept(smallest, unmaps);
  }
  // Out of bytes, the oldest go until this one fits.
  while (kept_bytes_ + bytes > cache_bytes_max) {
    int oldest = 0;
    for (int i = 1; i < kept_count_; ++i) {
      if (kept_[i].since_ns < kept_[oldest].since_ns) oldest = i;
    }
    DropKept(oldest, unmaps);
  }
  // Under ASan a use after free of kept pages is reported.
  Poison(reinterpret_cast<void*>(begin), bytes);
  int at = kept_count_;
  for (; at > 0 && kept_[at - 1].begin > begin; --at) kept_[at] = kept_[at - 1];
  kept_[at] = {begin, bytes, now, origin};
  ++kept_count_;
  kept_bytes_ += bytes;
}

void LargeHeap::ExpireKept(std::int64_t now, Unmaps& unmaps) {
  const std::int64_t delay = PurgeDelay();
  int stay = 0;
  for (int i = 0; i < kept_count_; ++i) {
    if (now - kept_[i].since_ns >= delay) {
      unmaps.Add(kept_[i].begin, kept_[i].bytes);
      kept_bytes_ -= kept_[i].bytes;
    } else {
      kept_[stay++] = kept_[i];
    }
  }
  kept_count_ = stay;
}

void LargeHeap::DropKept(int index, Unmaps& unmaps) {
  unmaps.Add(kept_[index].begin, kept_[index].bytes);
  kept_bytes_ -= kept_[index].bytes;
  std::copy(kept_ + index + 1, kept_ + kept_count_, kept_ + index);
  --kept_count_;
}

RUSTY_MALLOC_UNCOVERED_WALK HeapReport LargeHeap::Verify() const {
  SpinLockHolder hold(&lock_);
  HeapReport report;
  const std::size_t page = OsPageSize();
  live_.ForEach([&report, page](std::uintptr_t begin, std::size_t bytes) {
    if (begin % page != 0 || bytes == 0 || bytes % page != 0) {
      report = {"large mapping is not whole pages",
                reinterpret_cast<const void*>(begin)};
    }
    return report.ok();
  });
  if (!report.ok()) return report;
  std::size_t kept_bytes = 0;
  for (int i = 0; i < kept_count_; ++i) {
    const Kept& kept = kept_[i];
    if (kept.begin % page != 0 || kept.bytes == 0 || kept.bytes % page != 0) {
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
