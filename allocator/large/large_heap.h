#ifndef RUSTY_MALLOC_ALLOCATOR_LARGE_LARGE_HEAP_H_
#define RUSTY_MALLOC_ALLOCATOR_LARGE_LARGE_HEAP_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "allocator/common/heap_report.h"
#include "allocator/common/monotonic_clock.h"
#include "allocator/common/spin_lock.h"
#include "allocator/common/tunables.h"
#include "allocator/large/mapping_table.h"

namespace rusty_malloc {

struct LargeHeapOptions {
  // A freed mapping up to this size is kept for reuse; a larger one goes
  // back to the OS at once.
  std::size_t cache_entry_max = std::size_t{32} << 20;
  // Bound on the bytes kept for reuse; the oldest go first. Unset, the
  // process's RetainedBytesMax().
  std::optional<std::size_t> cache_bytes_max;
  // A kept mapping unused for this long goes back to the OS at the next
  // call into the heap (or at ReleaseCached()). Unset, the process's
  // PurgeDelayNs().
  std::optional<std::int64_t> purge_delay_ns;
};

// Large blocks, each its own anonymous mapping: page-aligned, unmapped when
// freed (after a short stay in a small cache, so that a loop of large
// allocations does not pay two syscalls and a page fault per page each
// time), grown and shrunk in place or moved by the kernel (mremap) rather
// than copied, and known to be zero when fresh from the OS. Any size works
// and nothing is reserved in advance, so the only limit is the OS's.
// Thread-safe; every call takes one spin lock, under which a syscall runs
// only when the table of mappings grows.
class LargeHeap {
 public:
  // The smallest page size: every mapping starts on a multiple of it, and it
  // is the largest alignment a block here gets. Sizes round to the kernel's
  // actual page size (OsPageSize()).
  static constexpr std::size_t kOsPage = 4096;
  // A kept mapping up to this many times a request serves it whole.
  static constexpr std::size_t kReuseWholeFactor = 8;

  constexpr explicit LargeHeap(LargeHeapOptions options = {})
      : options_(options) {}
  LargeHeap(const LargeHeap&) = delete;
  LargeHeap& operator=(const LargeHeap&) = delete;
  ~LargeHeap();

  // A page-aligned block of at least `size` bytes, or nullptr (ENOMEM from
  // the OS, or a size no mapping can have). `*zeroed` tells whether every
  // byte of it is known to be zero (fresh from the OS) or may hold a
  // previous block's data (reused from the cache).
  [[nodiscard]] void* Allocate(std::size_t size, bool* zeroed)
      ABSL_LOCKS_EXCLUDED(lock_);
  // Frees `ptr` and returns its usable size if it is a live block of this
  // heap; otherwise returns 0 and changes nothing.
  [[nodiscard]] std::size_t TryDeallocate(void* ptr) ABSL_LOCKS_EXCLUDED(lock_);
  // The block's usable size, or 0 when `ptr` is not a live block here.
  [[nodiscard]] std::size_t UsableSize(const void* ptr) const
      ABSL_LOCKS_EXCLUDED(lock_);
  // Resizes the live block `ptr` to hold `size` bytes, keeping its
  // contents: in place when the kernel can, moved by remapping otherwise.
  // nullptr (the block unchanged) when the OS refuses.
  [[nodiscard]] void* Reallocate(void* ptr, std::size_t size)
      ABSL_LOCKS_EXCLUDED(lock_);
  // Gives every kept mapping back to the OS now (malloc_trim).
  void ReleaseCached() ABSL_LOCKS_EXCLUDED(lock_);
  // Gives back the kept mappings older than the purge delay, as every call
  // that takes the lock does, for callers that know no other is coming.
  void ReleaseExpired() ABSL_LOCKS_EXCLUDED(lock_);

  [[nodiscard]] HeapReport Verify() const ABSL_LOCKS_EXCLUDED(lock_);
  // Live mappings are allocated blocks, kept ones free blocks.
  [[nodiscard]] HeapStats Stats() const ABSL_LOCKS_EXCLUDED(lock_);

  void LockForFork() ABSL_EXCLUSIVE_LOCK_FUNCTION(lock_) { lock_.Lock(); }
  void UnlockAfterFork() ABSL_UNLOCK_FUNCTION(lock_) { lock_.Unlock(); }
  // In the child: a Reallocate another thread had in flight (its block out
  // of the table, a slot held for it) will never finish there; its block
  // is that thread's and stays out, its slot is freed.
  void UnlockAfterForkInChild() ABSL_UNLOCK_FUNCTION(lock_) {
    live_.DropReservations();
    lock_.Unlock();
  }

  // For tests: slots held for reallocations in flight, and a function
  // Reallocate calls while its block is out of the table.
  std::size_t ReservedSlotsForTesting() const ABSL_LOCKS_EXCLUDED(lock_) {
    SpinLockHolder hold(&lock_);
    return live_.reserved();
  }
  void set_remap_hook_for_testing(void (*hook)(void*), void* arg) {
    remap_hook_ = hook;
    remap_hook_arg_ = arg;
  }

 private:
  static constexpr int kCacheSlots = 64;
  struct Kept {
    std::uintptr_t begin;
    std::size_t bytes;
    std::int64_t since_ns;  // When it was freed.
  };
  // Mappings to unmap once the lock is dropped.
  struct Unmaps {
    Kept list[kCacheSlots + 1];
    int count = 0;
    void Add(std::uintptr_t begin, std::size_t bytes) {
      list[count++] = {begin, bytes, 0};
    }
    void Run();
  };

  // Takes the kept mapping that serves `bytes` best: the smallest at least
  // that large (whole when at most kReuseWholeFactor times as large;
  // otherwise its tail goes back through `unmaps`), or failing that the
  // largest at least half as large, for the caller to grow with mremap.
  // Stores the length it has in `*kept_bytes`; returns 0 when there is none.
  std::uintptr_t TakeKept(std::size_t bytes, std::size_t* kept_bytes,
                          Unmaps& unmaps) ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  void Keep(std::uintptr_t begin, std::size_t bytes, std::int64_t now,
            Unmaps& unmaps) ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  // Moves kept mappings older than the purge delay to `unmaps`.
  void ExpireKept(std::int64_t now, Unmaps& unmaps)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  void DropKept(int index, Unmaps& unmaps) ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);

  std::size_t CacheBytesMax() const {
    return options_.cache_bytes_max.value_or(RetainedBytesMax());
  }
  std::int64_t PurgeDelay() const {
    return options_.purge_delay_ns.value_or(PurgeDelayNs());
  }

  const LargeHeapOptions options_;
  mutable SpinLock lock_;
  MappingTable live_ ABSL_GUARDED_BY(lock_);
  Kept kept_[kCacheSlots] ABSL_GUARDED_BY(lock_) = {};
  int kept_count_ ABSL_GUARDED_BY(lock_) = 0;
  std::size_t kept_bytes_ ABSL_GUARDED_BY(lock_) = 0;
  void (*remap_hook_)(void*) = nullptr;
  void* remap_hook_arg_ = nullptr;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_LARGE_LARGE_HEAP_H_
