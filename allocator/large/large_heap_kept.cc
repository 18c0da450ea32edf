// LargeHeap's kept ranges: which of them a request takes, what a free keeps,
// and what goes back to the OS when (the class comment, large_heap.h).
#include <algorithm>

#include "allocator/common/os_memory.h"
#include "allocator/common/released_bytes.h"
#include "allocator/common/sanitizer.h"
#include "allocator/large/large_heap.h"

namespace rusty_malloc {

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

LargeHeap::Kept LargeHeap::TakeKept(std::size_t bytes) {
  // Sizes are whole OS pages and kReuseWholeFactor divides one, so `have /
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

}  // namespace rusty_malloc
