#ifndef RUSTY_MALLOC_ALLOCATOR_GUARDED_GUARDED_POOL_H_
#define RUSTY_MALLOC_ALLOCATOR_GUARDED_GUARDED_POOL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "allocator/common/heap_report.h"
#include "allocator/common/spin_lock.h"
#include "allocator/guarded/classify_fault.h"
#include "allocator/guarded/layout.h"
#include "allocator/guarded/trace.h"

// Guarded allocations (GWP-ASan's idea): a fixed pool of slots, each one OS
// page between two inaccessible guard pages. A block sits against one of
// its slot's guard pages, so a read or write just past its end (or before
// its start) faults at once, and its page becomes inaccessible when it is
// freed, so a use after free faults too. A few sampled allocations go here;
// the fault handler (fault_handler.h) turns the fault into a report.

namespace rusty_malloc {

// Where a block sits in its slot's page.
enum class GuardedPlacement {
  kAlternate,     // Against the end, then against the start, in turn.
  kAgainstEnd,    // Ends where its page does: an overflow faults.
  kAgainstStart,  // Starts its page: an underflow faults.
};

// What the pool records of one slot: its last block, and who allocated it
// and (once freed) who freed it.
struct GuardedSlot {
  SlotView view;
  bool against_start = false;
  GuardedTrace allocated;
  GuardedTrace freed;
};

class GuardedPool {
 public:
  static constexpr std::size_t kDefaultSlots = 64;

  // Maps nothing: the range and the slots' records are mapped by the first
  // Allocate, so a process-wide pool costs nothing until sampling uses it.
  constexpr explicit GuardedPool(
      std::size_t slots = kDefaultSlots,
      GuardedPlacement placement = GuardedPlacement::kAlternate)
      : slots_(slots == 0 ? 1 : slots), placement_(placement) {}
  GuardedPool(const GuardedPool&) = delete;
  GuardedPool& operator=(const GuardedPool&) = delete;
  // Unmaps the range: every block with it.
  ~GuardedPool();

  // A block of `size` bytes aligned to `align`, alone in a slot; nullptr
  // when size is 0 or over a page, align is not a power of two or over a
  // page, every slot is taken, or the OS refuses the mappings: the caller
  // then allocates as usual. Records the caller's stack.
  [[nodiscard]] void* Allocate(std::size_t size, std::size_t align);

  // Whether `p` lies in the pool's range, its guard pages included: two
  // compares and no lock, for the free path to tell the pool's blocks.
  [[nodiscard]] bool Contains(const void* p) const {
    const auto address = reinterpret_cast<std::uintptr_t>(p);
    return address >= begin_.load(std::memory_order_relaxed) &&
           address < end_.load(std::memory_order_relaxed);
  }

  // Frees a block Allocate returned (`p` is Contains'). A pointer that is
  // not a live block's start is reported, with the block's stacks, and the
  // process aborts: "invalid free of a guarded block" inside one (or in a
  // guard page), "double free of a guarded block" for a freed one. The
  // slot's page becomes inaccessible and its memory goes back to the OS;
  // freed slots are reused least recently freed first.
  void Deallocate(void* p);

  // The live blocks as a heap's statistics: each a block of its size in a
  // committed page, the rest of the page overhead; the range and the
  // records reserved.
  [[nodiscard]] HeapStats Stats() const;
  // The size `p`'s block was allocated with; 0 if `p` is no live block.
  [[nodiscard]] std::size_t UsableSize(const void* p) const;

  // What a fault at `address` means (classify_fault.h).
  [[nodiscard]] GuardedFault Classify(const void* address) const;

  // For a signal handler: classifies `address` and copies the slot it
  // concerns into `*record` (when fault->slot is not kNoSlot). It waits for
  // the lock only briefly, then reads without it: the faulting thread may
  // hold it, and a report racing a free beats none.
  void DescribeFault(const void* address, GuardedFault* fault,
                     GuardedSlot* record) const;

  // The range and its slots; `base` is 0 until the first Allocate.
  [[nodiscard]] GuardedLayout layout() const;
  [[nodiscard]] std::size_t slot_count() const { return slots_; }

  // Around fork(): no other thread is halfway through a change of the
  // records while the child copies them.
  void LockForFork() ABSL_EXCLUSIVE_LOCK_FUNCTION(lock_) { lock_.Lock(); }
  void UnlockAfterFork() ABSL_UNLOCK_FUNCTION(lock_) { lock_.Unlock(); }

 private:
  // Maps the range and the records; false (for good) if the OS refuses.
  [[nodiscard]] bool Init() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  // The slot to use next: never used ones first, then the least recently
  // freed; kNoSlot when all are taken.
  [[nodiscard]] std::size_t TakeSlot() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  void QueueFreed(std::size_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  [[nodiscard]] GuardedFault ClassifyLocked(std::uintptr_t address) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  [[nodiscard]] std::size_t MetadataBytes() const;

  const std::size_t slots_;
  const GuardedPlacement placement_;
  mutable SpinLock lock_;
  GuardedLayout layout_ ABSL_GUARDED_BY(lock_);
  // slots_ records, then the queue of freed slots (a ring), on a mapping.
  GuardedSlot* records_ ABSL_GUARDED_BY(lock_) = nullptr;
  std::size_t* freed_ ABSL_GUARDED_BY(lock_) = nullptr;
  std::size_t freed_head_ ABSL_GUARDED_BY(lock_) = 0;
  std::size_t freed_count_ ABSL_GUARDED_BY(lock_) = 0;
  std::size_t never_used_ ABSL_GUARDED_BY(lock_) = 0;  // Slots [it, N).
  std::size_t allocations_ ABSL_GUARDED_BY(lock_) = 0;
  bool failed_ ABSL_GUARDED_BY(lock_) = false;
  // layout_'s range, for Contains; empty until reserved.
  std::atomic<std::uintptr_t> begin_{0};
  std::atomic<std::uintptr_t> end_{0};
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_GUARDED_GUARDED_POOL_H_
