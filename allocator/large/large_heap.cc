// LargeHeap's requests: allocate, free and resize blocks, each its own
// mapping. The kept ranges they reuse: large_heap_kept.cc.
#include "allocator/large/large_heap.h"

#include <cerrno>

#include "absl/base/optimization.h"
#include "allocator/common/monotonic_clock.h"
#include "allocator/common/os_memory.h"
#include "allocator/common/planted_bug.h"
#include "allocator/common/sanitizer.h"

namespace rusty_malloc {
namespace {

// `size` rounded up to whole OS pages, or 0 when that overflows or exceeds
// what a mapping (and ptrdiff_t) can span.
std::size_t MappingBytes(std::size_t size) {
  constexpr std::size_t kMax = static_cast<std::size_t>(PTRDIFF_MAX) / 2;
  if (size > kMax) return 0;
  const std::size_t os_page = OsPageSize();
  const std::size_t bytes = (size + os_page - 1) & ~(os_page - 1);
  return bytes == 0 ? os_page : bytes;
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

}  // namespace rusty_malloc
