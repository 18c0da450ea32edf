#ifndef RUSTY_MALLOC_ALLOCATOR_PROFILE_HEAP_PROFILE_H_
#define RUSTY_MALLOC_ALLOCATOR_PROFILE_HEAP_PROFILE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "allocator/common/spin_lock.h"
#include "allocator/profile/sample_weight.h"
#include "allocator/profile/sampled_blocks.h"
#include "allocator/profile/stack_table.h"

// A sampled heap profile: the allocations a byte sampler picked, each
// weighed by what it stands for (sample_weight.h), summed by the stack
// that allocated it. It answers where the live heap was allocated, where
// everything was allocated since the start, and where the live heap was
// allocated when it was at its largest. It runs inside malloc: it never
// allocates (its tables are mappings of their own), and it takes one spin
// lock, only on sampled allocations and their frees.

namespace rusty_malloc {

// Estimates (sample_weight.h) over every stack, and the samples behind them.
struct HeapProfileStats {
  SampleWeight live;   // Live allocations and bytes.
  SampleWeight total;  // Allocated since the start.
  SampleWeight peak;   // Live when the live bytes were at their highest.
  std::size_t live_samples = 0;
  std::size_t total_samples = 0;
  std::size_t stacks = 0;  // Interned; the overflow stack not counted.
  // Samples whose stack was new when the stack table was full: the
  // overflow stack holds them.
  std::size_t overflowed_samples = 0;
  // Samples not recorded at all: the table of sampled blocks could not
  // grow (the OS refused a mapping).
  std::size_t dropped_samples = 0;
};

class HeapProfile {
 public:
  // Maps nothing, so that a process-wide profile is constant-initialised:
  // the first Record maps its tables.
  constexpr explicit HeapProfile(
      std::size_t max_stacks = StackTable::kDefaultCapacity)
      : stacks_(max_stacks) {}
  HeapProfile(const HeapProfile&) = delete;
  HeapProfile& operator=(const HeapProfile&) = delete;

  // Records that `block`, of `bytes` (the bytes the sampler counted),
  // was sampled with a mean interval of `interval_bytes`, allocated at the
  // stack pcs[0, depth) (return addresses, innermost first, as
  // CaptureStack gives them; frames past StackTable::kMaxFrames dropped).
  // A block already recorded is replaced: its old sample is removed first.
  // A new peak of the live bytes copies every stack's live counters into
  // its peak ones, O(stacks) each time; while the heap grows every sample
  // may make one, which at sampling rates (one in 512 KiB allocated by
  // default) costs little beside the allocations it stands for.
  void Record(void* block, std::size_t bytes, double interval_bytes,
              const std::uintptr_t* pcs, int depth) ABSL_LOCKS_EXCLUDED(lock_);

  // Removes `block`'s sample when it is freed: true if it was sampled.
  // O(1) expected; without the lock while no sample is live, so a free
  // path may call it for every block while profiling is off or idle.
  bool Remove(void* block) ABSL_LOCKS_EXCLUDED(lock_);

  [[nodiscard]] HeapProfileStats Stats() const ABSL_LOCKS_EXCLUDED(lock_);

  // Calls fn(stacks) with the stack table under the lock: a consistent view
  // of every stack for a writer. Records and Removes on other threads wait
  // until fn returns.
  template <typename Fn>
  void Visit(Fn&& fn) const ABSL_LOCKS_EXCLUDED(lock_) {
    SpinLockHolder hold(&lock_);
    fn(static_cast<const StackTable&>(stacks_));
  }
  // Visit if no thread holds the lock, else false with fn not called: for
  // a signal handler, whose interrupted thread may hold it.
  template <typename Fn>
  bool TryVisit(Fn&& fn) const ABSL_LOCKS_EXCLUDED(lock_) {
    if (!lock_.TryLock()) return false;
    fn(static_cast<const StackTable&>(stacks_));
    lock_.Unlock();
    return true;
  }

 private:
  // Subtracts a removed block's sample from its stack and the totals.
  void Subtract(const SampledBlock& block) ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);

  mutable SpinLock lock_;
  StackTable stacks_ ABSL_GUARDED_BY(lock_);
  SampledBlocks blocks_ ABSL_GUARDED_BY(lock_);
  SampleWeight live_ ABSL_GUARDED_BY(lock_);
  SampleWeight total_ ABSL_GUARDED_BY(lock_);
  SampleWeight peak_ ABSL_GUARDED_BY(lock_);
  std::size_t total_samples_ ABSL_GUARDED_BY(lock_) = 0;
  std::size_t overflowed_samples_ ABSL_GUARDED_BY(lock_) = 0;
  std::size_t dropped_samples_ ABSL_GUARDED_BY(lock_) = 0;
  // blocks_.size(), written under the lock and read without it by Remove:
  // a thread freeing a block was handed it after its Record, so it reads
  // at least the count that Record left.
  std::atomic<std::size_t> live_samples_{0};
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PROFILE_HEAP_PROFILE_H_
