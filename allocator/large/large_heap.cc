#include "allocator/large/large_heap.h"

#include <sys/mman.h>

#include <cerrno>

#include "absl/base/optimization.h"
#include "allocator/common/monotonic_clock.h"
#include "allocator/common/os_page.h"
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

void LargeHeap::Unmaps::Run() {
  for (int i = 0; i < count; ++i) {
    // ASan's shadow outlives the mapping: whoever maps these addresses
    // next must not find them poisoned.
    Unpoison(reinterpret_cast<void*>(list[i].begin), list[i].bytes);
    munmap(reinterpret_cast<void*>(list[i].begin), list[i].bytes);
    CountReleased(list[i].bytes);
  }
  count = 0;
}

namespace {

// A kept mapping keeps whatever the program did to its block: a PROT_NONE
// guard page, mlock, MADV_DONTFORK. The next owner gets a fresh block's
// attributes (glibc unmaps such blocks; keeping them saves the faults).
// False when the mapping cannot be made readable and writable.
bool RestoreFreshAttributes(std::uintptr_t begin, std::size_t bytes) {
  void* const at = reinterpret_cast<void*>(begin);
  if (mprotect(at, bytes, PROT_READ | PROT_WRITE) != 0) return false;
  madvise(at, bytes, MADV_DOFORK);
  munlock(at, bytes);
  return true;
}

}  // namespace

void* LargeHeap::Allocate(std::size_t size, bool* zeroed) {
  const std::size_t bytes = MappingBytes(size);
  if (bytes == 0) {
    errno = ENOMEM;
    return nullptr;
  }
  Unmaps unmaps;
  std::uintptr_t begin = 0;
  std::size_t got = 0;
  {
    SpinLockHolder hold(&lock_);
    ExpireKept(CoarseNowNs(), unmaps);
    begin = TakeKept(bytes, &got, unmaps);
  }
  unmaps.Run();
  if (begin != 0 && !RestoreFreshAttributes(begin, got)) {
    munmap(reinterpret_cast<void*>(begin), got);
    begin = 0;
  }
  if (begin != 0 && got < bytes) {
    // Grown by the kernel: the pages it holds stay resident, so only the
    // rest fault in.
    void* grown =
        mremap(reinterpret_cast<void*>(begin), got, bytes, MREMAP_MAYMOVE);
    if (grown == MAP_FAILED) {
      munmap(reinterpret_cast<void*>(begin), got);
      begin = 0;
    } else {
      begin = reinterpret_cast<std::uintptr_t>(grown);
      got = bytes;
    }
  }
  const bool reused = begin != 0;
  if (!reused) {
    void* fresh = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (fresh == MAP_FAILED) {
      errno = ENOMEM;
      return nullptr;
    }
    begin = reinterpret_cast<std::uintptr_t>(fresh);
    got = bytes;
  }
  bool recorded;
  {
    SpinLockHolder hold(&lock_);
    recorded = live_.Insert(begin, got);
  }
  if (!recorded) {
    munmap(reinterpret_cast<void*>(begin), got);
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
    bytes = live_.Erase(begin);
    if (bytes == 0) return 0;
    const std::int64_t now = CoarseNowNs();
    ExpireKept(now, unmaps);
    Keep(begin, bytes, now, unmaps);
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
    live_.Erase(begin);
  }
  if (ABSL_PREDICT_FALSE(remap_hook_ != nullptr)) remap_hook_(remap_hook_arg_);
  void* moved = mremap(ptr, old_bytes, bytes, MREMAP_MAYMOVE);
  const bool ok = moved != MAP_FAILED;
  if (!ok) errno = ENOMEM;
  const auto now_at = ok ? reinterpret_cast<std::uintptr_t>(moved) : begin;
  SpinLockHolder hold(&lock_);
  live_.InsertReserved(now_at, ok ? bytes : old_bytes);
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

std::uintptr_t LargeHeap::TakeKept(std::size_t bytes, std::size_t* kept_bytes,
                                   Unmaps& unmaps) {
  int above = -1;  // The smallest at least `bytes`.
  int below = -1;  // The largest under `bytes`, at least half of it.
  for (int i = 0; i < kept_count_; ++i) {
    const std::size_t have = kept_[i].bytes;
    if (have >= bytes) {
      if (above < 0 || have < kept_[above].bytes) above = i;
    } else if (have >= bytes / 2 && (below < 0 || have > kept_[below].bytes)) {
      below = i;
    }
  }
  const int take = above >= 0 ? above : below;
  *kept_bytes = 0;
  if (take < 0) return 0;
  const Kept kept = kept_[take];
  Unpoison(reinterpret_cast<void*>(kept.begin), kept.bytes);
  kept_bytes_ -= kept.bytes;
  kept_[take] = kept_[--kept_count_];
  *kept_bytes = kept.bytes;
  // Up to kReuseWholeFactor times the request goes out whole (its usable
  // size says so):
  // a loop of blocks of varying sizes then reuses its pages as they are,
  // where cutting the tail and growing it back later costs an munmap, an
  // mremap and a page fault per page (5 to 25 MiB blocks: 3.5k blocks a
  // second against 14k). What a larger kept mapping holds beyond that is
  // cut, so that its tail does not stay resident for nothing.
  if (kept.bytes > kReuseWholeFactor * bytes) {
    unmaps.Add(kept.begin + bytes, kept.bytes - bytes);
    *kept_bytes = bytes;
  }
  return kept.begin;
}

void LargeHeap::Keep(std::uintptr_t begin, std::size_t bytes, std::int64_t now,
                     Unmaps& unmaps) {
  const std::size_t cache_bytes_max = CacheBytesMax();
  if (bytes > options_.cache_entry_max || bytes > cache_bytes_max) {
    unmaps.Add(begin, bytes);
    return;
  }
  // Out of slots, the smallest goes, unless this one is smaller still: a
  // miss costs a page fault per page, so large mappings are worth more.
  if (kept_count_ == kCacheSlots) {
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
  // Under ASan a use after free of a kept mapping is reported.
  Poison(reinterpret_cast<void*>(begin), bytes);
  kept_[kept_count_++] = {begin, bytes, now};
  kept_bytes_ += bytes;
}

void LargeHeap::ExpireKept(std::int64_t now, Unmaps& unmaps) {
  const std::int64_t delay = PurgeDelay();
  for (int i = kept_count_; i-- > 0;) {
    if (now - kept_[i].since_ns >= delay) DropKept(i, unmaps);
  }
}

void LargeHeap::DropKept(int index, Unmaps& unmaps) {
  unmaps.Add(kept_[index].begin, kept_[index].bytes);
  kept_bytes_ -= kept_[index].bytes;
  kept_[index] = kept_[--kept_count_];
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
      return {"kept large mapping is not whole pages",
              reinterpret_cast<const void*>(kept.begin)};
    }
    if (live_.Find(kept.begin) != 0) {
      return {"large mapping is both live and kept for reuse",
              reinterpret_cast<const void*>(kept.begin)};
    }
    kept_bytes += kept.bytes;
  }
  // The process's bound may have been lowered since the last Keep.
  if (kept_bytes != kept_bytes_ ||
      (options_.cache_bytes_max && kept_bytes_ > *options_.cache_bytes_max)) {
    return {"large mapping cache's byte count is off", nullptr};
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
  for (int i = 0; i < kept_count_; ++i) {
    stats.resident_bytes +=
        ResidentBytes(reinterpret_cast<void*>(kept_[i].begin), kept_[i].bytes);
    stats.free_bytes += kept_[i].bytes;
    ++stats.free_blocks;
    if (kept_[i].bytes > stats.largest_free_block) {
      stats.largest_free_block = kept_[i].bytes;
    }
  }
  stats.heap_bytes = stats.allocated_bytes + stats.free_bytes;
  // Mappings are read-write from the start and reserve nothing more.
  stats.reserved_bytes = stats.committed_bytes = stats.heap_bytes;
  return stats;
}

}  // namespace rusty_malloc
