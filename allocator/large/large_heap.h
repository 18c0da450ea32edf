#ifndef RUSTY_MALLOC_ALLOCATOR_LARGE_LARGE_HEAP_H_
#define RUSTY_MALLOC_ALLOCATOR_LARGE_LARGE_HEAP_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "allocator/common/heap_report.h"
#include "allocator/common/monotonic_clock.h"
#include "allocator/common/os_memory.h"
#include "allocator/common/spin_lock.h"
#include "allocator/common/tunables.h"
#include "allocator/large/mapping_table.h"

namespace rusty_malloc {

struct LargeHeapOptions {
  // A freed block up to this size is kept for reuse; a larger one goes back
  // to the OS at once.
  std::size_t cache_entry_max = std::size_t{32} << 20;
  // Bound on the bytes kept for reuse; the oldest go first. Unset, the
  // process's RetainedBytesMax().
  std::optional<std::size_t> cache_bytes_max;
  // Kept pages unused for this long go back to the OS at the next call into
  // the heap (or at ReleaseCached()). Unset, the process's PurgeDelayNs().
  std::optional<std::int64_t> purge_delay_ns;
};

// Large blocks, runs of pages of anonymous mappings: page-aligned, given
// back to the OS when freed (after a while among the kept ranges, so that
// large allocations in a loop do not pay two syscalls and a page fault per
// page each time), grown and shrunk in place or moved by the kernel
// (mremap) rather than copied, and known to be zero when fresh from the OS.
//
// A freed block stays mapped as a kept range for the purge delay. A request
// takes, in this order: the smallest kept range at least its size and at
// most kReuseWholeFactor times it, whole, unless a run of adjacent kept
// ranges holds the request in less; else its size from the front of the
// smallest run that holds it, the rest staying kept for other requests
// (several live blocks of mixed sizes then share the pages freed, where a
// range given whole to a much smaller request, or cut and its tail
// unmapped, would leave the next large one to fault in a fresh mapping);
// else the largest run at least half its size, grown by the kernel; else a
// fresh mapping. Any size works and nothing is reserved in advance, so the
// only limit is the OS's. Thread-safe; every call takes one spin lock,
// under which a syscall runs only when the table of live blocks grows.
class LargeHeap {
 public:
  // Every block starts on a multiple of the smallest OS page, and that is
  // the largest alignment a block here gets. Sizes round to the kernel's
  // actual page size (OsPageSize()).
  static constexpr std::size_t kOsPage = rusty_malloc::kOsPage;
  // A kept range up to this many times a request serves it whole: a loop of
  // blocks of varying sizes then reuses one range as it is, where cutting it
  // would leave the next larger block to grow it back (5 to 25 MiB blocks:
  // 14k blocks a second against 3.5k when tails were cut and regrown).
  static constexpr std::size_t kReuseWholeFactor = 8;

  constexpr explicit LargeHeap(LargeHeapOptions options = {})
      : options_(options) {}
  LargeHeap(const LargeHeap&) = delete;
  LargeHeap& operator=(const LargeHeap&) = delete;
  ~LargeHeap();

  // A page-aligned block of at least `size` bytes, or nullptr (ENOMEM from
  // the OS, or a size no mapping can have). `*zeroed` tells whether every
  // byte of it is known to be zero (fresh from the OS) or may hold a
  // previous block's data (reused from the kept ranges).
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
  // Gives every kept range back to the OS now (malloc_trim).
  void ReleaseCached() ABSL_LOCKS_EXCLUDED(lock_);
  // Gives back the kept ranges older than the purge delay, as every call
  // that takes the lock does, for callers that know no other is coming.
  void ReleaseExpired() ABSL_LOCKS_EXCLUDED(lock_);

  [[nodiscard]] HeapReport Verify() const ABSL_LOCKS_EXCLUDED(lock_);
  // Live blocks are allocated blocks, kept ranges free blocks; the largest
  // free block is the largest run of adjacent kept ranges, the most one
  // request can be given without the kernel's help.
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
  static constexpr int kKeptSlots = 64;
  // Pages of freed blocks, still mapped and as resident as the program left
  // them. kept_ holds them in address order; neighbours may touch. Each has
  // its own age, so that pages a cut leaves unused go back on time even
  // while the pages beside them are reused all along.
  struct Kept {
    std::uintptr_t begin;
    std::size_t bytes;
    std::int64_t since_ns;  // When its pages were last part of a block.
    // The mapping (mmap, or mremap that moved it) the pages are part of, as
    // blocks are (their MappingTable tag). Only ranges of one mapping make a
    // run: mremap fails (EFAULT) on a range across two of the kernel's
    // mappings, and two of ours side by side need not be one of its.
    std::uint64_t origin;
    std::uintptr_t end() const { return begin + bytes; }
  };
  // Ranges to unmap once the lock is dropped.
  struct Unmaps {
    Kept list[kKeptSlots + 1];
    int count = 0;
    void Add(std::uintptr_t begin, std::size_t bytes);
    void Run();
  };
  // kept_[first, last]: adjacent, of one origin, together `bytes` long.
  struct Run {
    int first;
    int last;
    std::size_t bytes;
  };

  // Takes the kept pages a request for `bytes` gets (see the class comment)
  // out of kept_: their start, length and origin, and the oldest one's age.
  // The length is 0 when there are none, and less than `bytes` when the
  // caller is to grow them.
  Kept TakeKept(std::size_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  // The longest run of adjacent kept ranges from kept_[first].
  Run RunFrom(int first) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  // Takes the first `bytes` of the run from kept_[first] out of kept_.
  Kept Carve(int first, std::size_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  void Keep(std::uintptr_t begin, std::size_t bytes, std::uint64_t origin,
            std::int64_t now, Unmaps& unmaps)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  // Moves kept ranges older than the purge delay to `unmaps`.
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
  Kept kept_[kKeptSlots] ABSL_GUARDED_BY(lock_) = {};
  int kept_count_ ABSL_GUARDED_BY(lock_) = 0;
  std::size_t kept_bytes_ ABSL_GUARDED_BY(lock_) = 0;
  std::uint64_t last_origin_ ABSL_GUARDED_BY(lock_) = 0;
  void (*remap_hook_)(void*) = nullptr;
  void* remap_hook_arg_ = nullptr;
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_LARGE_LARGE_HEAP_H_
