#ifndef RUSTY_MALLOC_ALLOCATOR_PER_THREAD_RETAINED_BUDGET_H_
#define RUSTY_MALLOC_ALLOCATOR_PER_THREAD_RETAINED_BUDGET_H_

#include <atomic>
#include <cstddef>

#include "allocator/common/check.h"

namespace rusty_malloc {

// How much memory the thread heaps of one allocator may keep committed in
// pages they took out of use, process-wide: a floor, plus a share for each
// heap. Such pages wait the purge delay before they go back to the OS, so
// that a heap which empties and refills pages does not fault them in again
// each time; past the budget a heap gives what it retires back at once,
// and 16 threads do not keep 16 heaps' worth of empty pages. The count is
// shared (relaxed atomics): heaps on different threads may overshoot it by
// a page each at a race, never by more.
class RetainedBudget {
 public:
  static constexpr std::size_t kDefaultFloorBytes = std::size_t{8} << 20;
  static constexpr std::size_t kDefaultPerHeapBytes = std::size_t{1} << 20;

  constexpr RetainedBudget() = default;
  constexpr RetainedBudget(std::size_t floor_bytes, std::size_t per_heap_bytes)
      : floor_bytes_(floor_bytes), per_heap_bytes_(per_heap_bytes) {}
  RetainedBudget(const RetainedBudget&) = delete;
  RetainedBudget& operator=(const RetainedBudget&) = delete;

  // Counts `bytes` more retained and returns true when that stays within
  // the budget; otherwise counts nothing and returns false, and the caller
  // gives the memory back to the OS now.
  [[nodiscard]] bool TryRetain(std::size_t bytes) {
    const std::size_t after =
        retained_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    if (after <= Limit()) return true;
    retained_.fetch_sub(bytes, std::memory_order_relaxed);
    return false;
  }
  // `bytes` counted by TryRetain are back in use, or gone to the OS or to
  // the chunk source.
  void Release(std::size_t bytes) {
    [[maybe_unused]] const std::size_t before =
        retained_.fetch_sub(bytes, std::memory_order_relaxed);
    RUSTY_MALLOC_DCHECK(before >= bytes, this);
  }
  // The number of heaps the budget scales with (the binding's live and
  // abandoned heaps).
  void set_heaps(std::size_t heaps) {
    heaps_.store(heaps, std::memory_order_relaxed);
  }

  std::size_t retained() const {
    return retained_.load(std::memory_order_relaxed);
  }
  std::size_t Limit() const {
    return floor_bytes_ +
           heaps_.load(std::memory_order_relaxed) * per_heap_bytes_;
  }

 private:
  const std::size_t floor_bytes_ = kDefaultFloorBytes;
  const std::size_t per_heap_bytes_ = kDefaultPerHeapBytes;
  std::atomic<std::size_t> retained_{0};
  std::atomic<std::size_t> heaps_{0};
};

}  // namespace rusty_malloc

#endif  // RUSTY_MALLOC_ALLOCATOR_PER_THREAD_RETAINED_BUDGET_H_
